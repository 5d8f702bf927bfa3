/**
 * The callbacks of an UpstreamSource (onAttemptStart, onAttemptEnd) are not
 * awaited: one that throws, or returns a promise that rejects, never breaks
 * the call nor leaves a rejection unhandled (which ends a Node process); the
 * client reports it to its logger and as an `error` event. A real server on
 * loopback answers the calls.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ServiceClient } from '../../../src/client/service-client.js';
import type { ClientErrorEvent } from '../../../src/client/service-client-events.js';
import type { UpstreamSource } from '../../../src/contracts/upstream.js';
import { PerformanceMonitor } from '../../../src/monitor/performance-monitor.js';

let server: Server;
let url: string;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);

beforeAll(async () => {
  server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end('{"ok":1}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.on('unhandledRejection', onUnhandled);
});

afterEach(() => {
  expect(unhandled).toEqual([]);
});

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** A client over `source`, its `error` events, and what its logger was told. */
function clientOf(source: Omit<UpstreamSource, 'pick'>) {
  const logged: string[] = [];
  const client = new ServiceClient(
    { service: 'svc', registry: { pick: () => ({ id: 'i1', url }), ...source } },
    { logger: { error: (message: string) => void logged.push(message) } },
  );
  const errors: ClientErrorEvent[] = [];
  let wake: () => void = () => {};
  client.on('error', (e) => {
    errors.push(e);
    wake();
  });
  /** Resolves once `n` error events have arrived. */
  const reported = (n: number) =>
    new Promise<void>((resolve) => {
      wake = () => {
        if (errors.length >= n) resolve();
      };
      wake();
    });
  return { client, errors, logged, reported };
}

describe('ServiceClient: UpstreamSource callbacks that fail', () => {
  it('an async onAttemptStart that rejects: the call succeeds, the rejection is an error event', async () => {
    const failure = new Error('metrics store unavailable');
    const tokens: unknown[] = [];
    const { client, errors, logged, reported } = clientOf({
      async onAttemptStart() {
        throw failure;
      },
      onAttemptEnd: (_s, _id, _r, token) => void tokens.push(token),
    });
    expect(await client.get('/x')).toEqual({ ok: 1 });
    await reported(1);
    expect(errors).toEqual([
      { service: 'svc', instanceId: 'i1', operation: 'onAttemptStart', error: failure },
    ]);
    expect(logged).toEqual(['registry onAttemptStart failed']);
    // The promise itself is the token, as the contract says.
    expect(tokens).toHaveLength(1);
    await expect(tokens[0]).rejects.toBe(failure);
    await client.close();
  });

  it('a thenable that is not a promise, a sync throw, and an async onAttemptEnd are reported the same way', async () => {
    const thenable = {
      // biome-ignore lint/suspicious/noThenProperty: a thenable is what is tested
      then: (_ok: unknown, fail: (e: unknown) => void) => fail(new Error('thenable')),
    };
    const a = clientOf({ onAttemptStart: () => thenable });
    expect(await a.client.get('/x')).toEqual({ ok: 1 });
    await a.reported(1);
    expect(a.errors[0]).toMatchObject({ operation: 'onAttemptStart', error: { message: 'thenable' } });
    await a.client.close();

    const b = clientOf({
      onAttemptStart: () => {
        throw new Error('sync');
      },
      onAttemptEnd: (async () => {
        throw new Error('end');
      }) as UpstreamSource['onAttemptEnd'],
    });
    expect(await b.client.get('/x')).toEqual({ ok: 1 });
    await b.reported(2);
    expect(b.errors.map((e) => [e.operation, (e.error as Error).message])).toEqual([
      ['onAttemptStart', 'sync'],
      ['onAttemptEnd', 'end'],
    ]);
    expect(b.logged).toEqual(['registry onAttemptStart failed', 'registry onAttemptEnd failed']);
    await b.client.close();
  });

  it('without an error listener, a rejection still goes to the logger only', async () => {
    const logged: string[] = [];
    let rejected!: Promise<never>;
    const client = new ServiceClient(
      {
        service: 'svc',
        registry: {
          pick: () => ({ id: 'i1', url }),
          onAttemptStart: () => {
            rejected = Promise.reject(new Error('no listener'));
            return rejected;
          },
        },
      },
      { logger: { error: (message: string) => void logged.push(message) } },
    );
    expect(await client.get('/x')).toEqual({ ok: 1 });
    await rejected.catch(() => {});
    // The client's handler was attached first: it has run by now.
    expect(logged).toEqual(['registry onAttemptStart failed']);
    await client.close();
  });

  it('observeClient counts the failures by callback', async () => {
    const monitor = new PerformanceMonitor();
    const { client, reported } = clientOf({
      async onAttemptStart() {
        throw new Error('x');
      },
    });
    monitor.observeClient(client);
    await client.get('/x');
    await reported(1);
    expect(await monitor.metrics()).toContain(
      '\nscaleout_client_source_errors_total{operation="onAttemptStart",service="svc"} 1\n',
    );
    await client.close();
    await monitor.close();
  });
});
