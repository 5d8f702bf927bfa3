import { describe, expect, it } from 'vitest';
import { make } from './helpers.js';

describe('calls in flight', () => {
  it('end() refuses a result that is not one, before it counts anything', async () => {
    const registry = make();
    await registry.register('svc', 'http://127.0.0.1:4001');
    await registry.watch('svc');
    const call = registry.startCall('svc');
    for (const junk of [
      null,
      undefined,
      5,
      'success',
      {},
      { outcome: 'ok' },
      { outcome: 'success', latencyMs: -1 },
      { outcome: 'success', latencyMs: Number.NaN },
      { outcome: 'success', latencyMs: '5' },
    ]) {
      expect(() => call.end(junk as never)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
      );
    }
    // Still in flight: a refused result ended nothing and fed nothing to the latency estimate.
    expect((await registry.instances('svc'))[0]).toMatchObject({ outstanding: 1 });
    call.end({ outcome: 'success', latencyMs: 7 });
    expect((await registry.instances('svc'))[0]).toMatchObject({ outstanding: 0, latencyMs: 7 });
  });

  it('counts outstanding calls until they end, once', async () => {
    const registry = make();
    await registry.register('svc', 'http://127.0.0.1:4001');
    await registry.watch('svc');
    const c1 = registry.startCall('svc');
    const c2 = registry.startCall('svc');
    expect((await registry.instances('svc'))[0]!.outstanding).toBe(2);
    c1.end({ outcome: 'success', latencyMs: 10 });
    c1.end({ outcome: 'success', latencyMs: 10 });
    expect((await registry.instances('svc'))[0]).toMatchObject({ outstanding: 1, latencyMs: 10 });
    c2.end({ outcome: 'cancelled' });
    expect((await registry.instances('svc'))[0]!.outstanding).toBe(0);
  });

  it('trackCall counts a call to a picked instance until it ends, and nothing for an instance that left', async () => {
    const registry = make({ outlierDetection: { consecutiveFailures: 1 } });
    await registry.register('svc', 'http://127.0.0.1:4001');
    await registry.register('svc', 'http://127.0.0.1:4002');
    await registry.watch('svc');
    const id = 'http://127.0.0.1:4001/';
    const a = registry.trackCall('svc', id)!;
    const b = registry.trackCall('svc', id)!;
    expect(a.instance.id).toBe(id);
    const outstanding = async () => (await registry.instances('svc')).find((i) => i.id === id)!.outstanding;
    expect(await outstanding()).toBe(2);
    // 429: neither a failure (no ejection with a threshold of 1) nor a latency sample.
    a.end({ outcome: 'overloaded', latencyMs: 1 });
    a.end({ outcome: 'server-error' });
    expect(await outstanding()).toBe(1);
    expect((await registry.instances('svc')).find((i) => i.id === id)).toMatchObject({
      ejected: false,
      latencyMs: undefined,
    });
    b.end({ outcome: 'success', latencyMs: 7 });
    expect((await registry.instances('svc')).find((i) => i.id === id)).toMatchObject({
      outstanding: 0,
      latencyMs: 7,
    });
    expect(registry.trackCall('svc', 'http://127.0.0.1:9999/')).toBeUndefined();
    expect(registry.trackCall('unwatched', id)).toBeUndefined();
  });
});
