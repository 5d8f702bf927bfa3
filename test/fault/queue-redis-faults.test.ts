import type { RedisOptions } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isScaleoutError, MessageQueue } from '../../src/index.js';
import { redisStreamsQueueAdapter } from '../../src/redis.js';
import { type FaultMode, type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.js';
import { uniquePrefix } from '../helpers/keys.js';
import { closedAfterTest } from '../helpers/owned-adapter.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { sleep, until } from '../helpers/wait.js';

// The Redis Streams queue under network faults and a frozen Redis: no
// confirmed message is lost, failed publishes reject with a typed error,
// consuming resumes by itself, nothing is left pending, and no promise is
// left rejected unhandled.
let server: RedisServer;
let proxy: FaultProxy;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);

beforeAll(async () => {
  server = await startRedisServer();
  proxy = await startFaultProxy({ port: server.port });
  process.on('unhandledRejection', onUnhandled);
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await proxy?.close();
  await server?.stop();
});

/**
 * Four publishers in parallel until stopped. Records every id it tried, the
 * ids whose publish resolved (confirmed) and the errors of those that
 * rejected. `timeoutMs` bounds each publish with an AbortSignal.
 */
function publishLoop(queue: MessageQueue, topic: string, timeoutMs: number | undefined) {
  const attempted = new Set<string>();
  const confirmed = new Set<string>();
  const errors: unknown[] = [];
  let stop = false;
  let seq = 0;
  const worker = async () => {
    while (!stop) {
      const id = `m-${seq++}`;
      attempted.add(id);
      try {
        const signal = timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs);
        confirmed.add(await queue.publish(topic, { id }, { messageId: id, signal }));
      } catch (err) {
        errors.push(err);
        await sleep(20);
      }
    }
  };
  const done = Promise.all([worker(), worker(), worker(), worker()]);
  return {
    attempted,
    confirmed,
    errors,
    async stop() {
      stop = true;
      await done;
    },
  };
}

interface Fault {
  name: string;
  /** How the adapter reaches Redis. */
  connection: () => RedisOptions;
  /** Per-publish timeout (AbortSignal), if any. */
  publishTimeoutMs: number | undefined;
  start(): void;
  clear(): void;
}

const viaProxy = (extra: RedisOptions = {}): RedisOptions => ({
  host: '127.0.0.1',
  port: proxy.port,
  retryStrategy: () => 50,
  ...extra,
});
const setMode = (mode: FaultMode) => () => proxy.setMode(mode);

const faults: Fault[] = [
  {
    // ioredis rejects queued commands after maxRetriesPerRequest reconnects,
    // but a command already sent when the connection broke waits for the
    // next connection: commandTimeout bounds it.
    name: 'every connection reset (TCP proxy), ioredis maxRetriesPerRequest: 1 and commandTimeout: 1000',
    connection: () => viaProxy({ maxRetriesPerRequest: 1, commandTimeout: 1_000 }),
    publishTimeoutMs: undefined,
    start: setMode({ kind: 'reset' }),
    clear: setMode({ kind: 'pass' }),
  },
  {
    name: 'latency of 1.5 s (TCP proxy), publishes bounded by a 500 ms signal',
    connection: () => viaProxy(),
    publishTimeoutMs: 500,
    start: setMode({ kind: 'delay', ms: 1_500 }),
    clear: setMode({ kind: 'pass' }),
  },
  {
    name: 'Redis paused (SIGSTOP), ioredis commandTimeout: 500',
    connection: () => ({ host: '127.0.0.1', port: server.port, commandTimeout: 500 }),
    publishTimeoutMs: undefined,
    start: () => server.pause(),
    clear: () => server.resume(),
  },
];

describe('Redis Streams queue loses no confirmed message under faults', () => {
  for (const fault of faults) {
    it(`${fault.name}: every confirmed message is consumed, failed publishes are typed, consuming resumes, nothing stays pending`, async () => {
      proxy.setMode({ kind: 'pass' });
      const unhandledBefore = unhandled.length;
      const prefix = uniquePrefix('streams-fault');
      const adapter = closedAfterTest(
        redisStreamsQueueAdapter({
          connection: fault.connection(),
          prefix,
          claimIdleMs: 1_000,
          sweepIntervalMs: 100,
          blockMs: 200,
        }),
      );
      const queue = new MessageQueue({ adapter });
      const topic = 'orders';
      const received = new Set<string>();
      const settleErrors: unknown[] = [];
      queue.on('error', (e) => settleErrors.push(e.error));
      try {
        await queue.consume(topic, (_m, ctx) => void received.add(ctx.id), { prefetch: 20 });
        const pub = publishLoop(queue, topic, fault.publishTimeoutMs);
        await until('confirmed publishes before the fault', () => pub.confirmed.size >= 100);
        fault.start();
        try {
          await sleep(2_500);
        } finally {
          fault.clear();
        }
        const atClear = pub.confirmed.size;
        await until('confirmed publishes after the fault', () => pub.confirmed.size >= atClear + 100);
        await pub.stop();

        // The fault was felt: some publishes failed, each with a typed error.
        expect(pub.errors.length).toBeGreaterThan(0);
        for (const err of pub.errors) {
          expect(
            isScaleoutError(err, 'ERR_CONNECTION') ||
              isScaleoutError(err, 'ERR_TIMEOUT') ||
              isScaleoutError(err, 'ERR_ABORTED'),
            String(err),
          ).toBe(true);
        }
        // Every confirmed message is consumed; nothing that was never published shows up
        // (a publish that failed may still have been stored: at least once).
        await until('every confirmed message to be consumed', () =>
          [...pub.confirmed].every((id) => received.has(id)),
        );
        for (const id of received) expect(pub.attempted.has(id)).toBe(true);
        // Consuming resumed and settled everything: no message stays pending.
        const admin = server.client();
        try {
          await until('no pending message in the group', async () => {
            const [count] = (await admin.call('XPENDING', `${prefix}${topic}`, 'default')) as [number];
            return Number(count) === 0;
          });
        } finally {
          admin.disconnect();
        }
        // An acknowledgement that failed was reported typed (and its message delivered again).
        for (const err of settleErrors)
          expect(isScaleoutError(err, 'ERR_CONNECTION'), String(err)).toBe(true);
        expect(unhandled.slice(unhandledBefore)).toEqual([]);
      } finally {
        fault.clear();
        await queue.close();
      }
    }, 90_000);
  }
});
