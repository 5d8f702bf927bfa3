import { describe, expect, it } from 'vitest';
import { Idempotency, MessageQueue } from '../../../src/index.js';
import { until } from '../../helpers/wait.js';

describe('queue.consume(..., { dedupe })', () => {
  it('skips a message id the group already processed (a redelivered copy has one effect)', async () => {
    const queue = new MessageQueue({ retryBaseMs: 1, retryMaxMs: 5 });
    const keys = new Idempotency();
    const replayed: string[] = [];
    keys.on('replayed', (e) => replayed.push(e.key));
    const effects: string[] = [];
    await queue.consume<{ n: number }>('orders', (m, ctx) => void effects.push(`${ctx.id}:${m.n}`), {
      dedupe: keys,
    });
    await queue.publish('orders', { n: 1 }, { messageId: 'm-1' });
    await queue.publish('orders', { n: 1 }, { messageId: 'm-1' }); // the same message again
    await queue.publish('orders', { n: 2 }, { messageId: 'm-2' });
    await until('three deliveries settled', () => effects.length + replayed.length >= 3);
    expect(effects).toEqual(['m-1:1', 'm-2:2']);
    expect(replayed).toEqual(['queue:orders:default:m-1']);
    await queue.close();
  });

  it('a handler that throws keeps nothing: the retry runs it again', async () => {
    const queue = new MessageQueue({ retryBaseMs: 1, retryMaxMs: 5 });
    const keys = new Idempotency();
    let calls = 0;
    let done = false;
    await queue.consume(
      'jobs',
      () => {
        calls++;
        if (calls === 1) throw new Error('transient');
        done = true;
      },
      { dedupe: keys },
    );
    await queue.publish('jobs', {}, { messageId: 'j-1' });
    await until('the retry ran', () => done);
    expect(calls).toBe(2);
    await queue.close();
  });

  it('groups are apart: each group processes the message once', async () => {
    const queue = new MessageQueue();
    const keys = new Idempotency();
    const seen: string[] = [];
    await queue.consume('t', (_m, ctx) => void seen.push(ctx.group), { group: 'a', dedupe: keys });
    await queue.consume('t', (_m, ctx) => void seen.push(ctx.group), { group: 'b', dedupe: keys });
    await queue.publish('t', {}, { messageId: 'x' });
    await until('both groups', () => seen.length >= 2);
    expect(seen.sort()).toEqual(['a', 'b']);
    await queue.close();
  });

  it('refuses a dedupe that is not an Idempotency with a typed error', async () => {
    const queue = new MessageQueue();
    for (const bad of [true, 60_000, {}, { store: {} }]) {
      await expect(queue.consume('t', () => {}, { dedupe: bad as never })).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
      });
    }
    await expect(
      queue.consume('t', () => {}, { idempotency: new Idempotency() } as never),
    ).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTIONS',
      suggestion: 'dedupe',
    });
    await queue.close();
  });
});
