import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionError, CorruptDataError, isScaleoutError, MessageQueue } from '../../../src/index.js';
import { redisStreamsQueueAdapter } from '../../../src/redis.js';
import { fakeClock } from '../../helpers/clock.js';
import { uniquePrefix } from '../../helpers/keys.js';
import { closedAfterTest } from '../../helpers/owned-adapter.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';
import { PAST_TIMER_RANGE_MS, watchTimerOverflow } from '../../helpers/timer-overflow.js';
import { sleep, until } from '../../helpers/wait.js';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});

describe('redisStreamsQueueAdapter when Redis fails a command', () => {
  it('a failed acknowledgement does not strand the message: it is delivered again and acknowledged once Redis accepts XACK', async () => {
    // A user that may not run XACK: every acknowledgement fails, deterministically.
    const admin = server.client();
    const user = `q${Math.random().toString(36).slice(2, 10)}`;
    await admin.call('ACL', 'SETUSER', user, 'on', '>pw', '~*', '&*', '+@all', '-xack');
    const prefix = uniquePrefix('ack-fail');
    const queue = new MessageQueue({
      adapter: closedAfterTest(
        redisStreamsQueueAdapter({
          connection: { host: '127.0.0.1', port: server.port, username: user, password: 'pw' },
          prefix,
          claimIdleMs: 300,
          sweepIntervalMs: 50,
          blockMs: 50,
        }),
      ),
    });
    const deliveries: number[] = [];
    const errors: unknown[] = [];
    queue.on('error', (e) => errors.push(e.error));
    try {
      await queue.consume('t', (_m, ctx) => void deliveries.push(ctx.deliveryCount), { prefetch: 1 });
      await queue.publish('t', { n: 1 });
      await until('the acknowledgement to fail', () => errors.length >= 1);
      expect(errors[0]).toBeInstanceOf(ConnectionError);
      expect(String((errors[0] as Error).cause)).toMatch(/NOPERM/);
      await admin.call('ACL', 'SETUSER', user, '+xack');
      // Held no longer by a consumer that failed to settle it: reclaimed after
      // claimIdleMs, handled again, and this time acknowledged.
      await until('no pending message', async () => {
        const [count] = (await admin.call('XPENDING', `${prefix}t`, 'default')) as [number];
        return Number(count) === 0;
      });
      expect(deliveries.length).toBeGreaterThanOrEqual(2);
      expect(deliveries[0]).toBe(1);
      expect(deliveries.at(-1)).toBeGreaterThanOrEqual(2);
      // Consuming goes on (its one prefetch slot was given back).
      await queue.publish('t', { n: 2 });
      await until('the next message', () => deliveries.length >= 3);
    } finally {
      await queue.close();
      await admin.call('ACL', 'DELUSER', user);
    }
  }, 30_000);

  it('paces its sweeps on the clock it was given: none while that clock stands still', async () => {
    const admin = server.client();
    const sweeps = async () =>
      Number(/cmdstat_xautoclaim:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0);
    const clock = fakeClock();
    const queue = new MessageQueue({
      adapter: closedAfterTest(
        redisStreamsQueueAdapter({
          connection: server.url,
          prefix: uniquePrefix('sweep-clock'),
          sweepIntervalMs: 20,
          blockMs: 20,
          clock,
        }),
      ),
    });
    try {
      const before = await sweeps();
      await queue.consume('t', () => {}, { prefetch: 1 });
      await until('the first sweep', async () => (await sweeps()) > before);
      const first = await sweeps();
      await sleep(300); // about 15 reads of 20 ms go by; on this clock no time passes
      expect(await sweeps()).toBe(first);
      clock.advance(20);
      await until('the next sweep, once the clock has moved', async () => (await sweeps()) > first);
    } finally {
      await queue.close();
    }
  });

  it('publish rejects with a typed error: ConnectionError when Redis fails, AbortedError when its signal fires', async () => {
    const admin = server.client();
    const user = `p${Math.random().toString(36).slice(2, 10)}`;
    await admin.call('ACL', 'SETUSER', user, 'on', '>pw', '~*', '&*', '+@all', '-xadd');
    const queue = new MessageQueue({
      adapter: closedAfterTest(
        redisStreamsQueueAdapter({
          connection: { host: '127.0.0.1', port: server.port, username: user, password: 'pw' },
          prefix: uniquePrefix('pub-fail'),
        }),
      ),
    });
    try {
      const err = await queue.publish('t', 1).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConnectionError);
      expect(String((err as Error).cause)).toMatch(/NOPERM/);
      await expect(queue.publish('t', 1, { signal: AbortSignal.abort() })).rejects.toSatisfy((e: unknown) =>
        isScaleoutError(e, 'ERR_ABORTED'),
      );
    } finally {
      await queue.close();
      await admin.call('ACL', 'DELUSER', user);
    }
  });

  it('with an ioredis commandTimeout shorter than blockMs: blocking reads stay under it, so an idle consumer never times out and still receives', async () => {
    const warnings: string[] = [];
    const queue = new MessageQueue({
      adapter: closedAfterTest(
        redisStreamsQueueAdapter({
          connection: { host: '127.0.0.1', port: server.port, commandTimeout: 300 },
          prefix: uniquePrefix('cmd-timeout'),
          blockMs: 2_000,
          sweepIntervalMs: 1_000,
          logger: { warn: (m, f) => void warnings.push(`${m} ${JSON.stringify(f)}`) },
        }),
      ),
    });
    try {
      const got: unknown[] = [];
      await queue.consume('t', (m) => void got.push(m));
      await sleep(1_500); // idle: only blocking reads that find nothing
      await queue.publish('t', { n: 1 });
      await until('the message', () => got.length === 1);
      expect(warnings).toEqual([]);
    } finally {
      await queue.close();
    }
  });

  it('close() does not wait for a read that never answers after disconnect (an ioredis Cluster can park one)', async () => {
    const client = server.client();
    const duplicate = client.duplicate.bind(client);
    // Every blocking read of the consumer's reader hangs for good, as a command
    // parked in a Cluster's offline queue after disconnect() does.
    client.duplicate = ((...args: Parameters<typeof client.duplicate>) => {
      const reader = duplicate(...args);
      const call = reader.call.bind(reader) as (...a: unknown[]) => Promise<unknown>;
      reader.call = ((...a: unknown[]) =>
        a[0] === 'XREADGROUP' ? new Promise(() => {}) : call(...a)) as typeof reader.call;
      return reader;
    }) as typeof client.duplicate;
    const adapter = redisStreamsQueueAdapter({
      connection: client,
      prefix: uniquePrefix('parked'),
      blockMs: 50,
      sweepIntervalMs: 50,
    });
    try {
      const consumer = await adapter.consume('t', () => {}, {
        group: 'default',
        prefetch: 1,
        deadLetterTopic: undefined,
      });
      await sleep(150); // the loop now awaits a read that never settles
      const outcome = await Promise.race([
        consumer.unsubscribe().then(() => 'closed'),
        sleep(3_000).then(() => 'still waiting'),
      ]);
      expect(outcome).toBe('closed');
    } finally {
      await adapter.close();
      client.disconnect();
    }
  });
});

describe('redisStreamsQueueAdapter when a key holds foreign data (a data error, not an outage)', () => {
  it('publish and consume onto a key of another type reject with CorruptDataError naming the key', async () => {
    const admin = server.client();
    const prefix = uniquePrefix('wrongtype');
    await admin.set(`${prefix}orders`, 'not a stream');
    await admin.set(`${prefix}other.dead`, 'not a stream either');
    const queue = new MessageQueue({
      adapter: closedAfterTest(redisStreamsQueueAdapter({ connection: server.url, prefix })),
    });
    try {
      const published = await queue.publish('orders', { n: 1 }).catch((e: unknown) => e);
      expect(published).toBeInstanceOf(CorruptDataError);
      expect((published as CorruptDataError).key).toBe(`${prefix}orders`);
      const consumed = await queue.consume('orders', () => {}).catch((e: unknown) => e);
      expect(consumed).toBeInstanceOf(CorruptDataError);
      expect((consumed as CorruptDataError).key).toBe(`${prefix}orders`);
      // The dead-letter topic's key is named when it is the foreign one.
      const dead = await queue.consume('other', () => {}).catch((e: unknown) => e);
      expect(dead).toBeInstanceOf(CorruptDataError);
      expect((dead as CorruptDataError).key).toBe(`${prefix}other.dead`);
      // Other keys are unaffected.
      const got: unknown[] = [];
      await queue.consume('fine', (m) => void got.push(m));
      await queue.publish('fine', { ok: true });
      await until('the good message', () => got.length === 1);
    } finally {
      await queue.close();
    }
  });

  it('publish onto a stream whose last id is the largest possible rejects with CorruptDataError naming the key, not ConnectionError', async () => {
    const admin = server.client();
    const prefix = uniquePrefix('maxid');
    await admin.xadd(`${prefix}orders`, '18446744073709551615-18446744073709551615', 'x', '1');
    const queue = new MessageQueue({
      adapter: closedAfterTest(redisStreamsQueueAdapter({ connection: server.url, prefix })),
    });
    try {
      const published = await queue.publish('orders', { n: 1 }).catch((e: unknown) => e);
      expect(published).toBeInstanceOf(CorruptDataError);
      expect((published as CorruptDataError).key).toBe(`${prefix}orders`);
      expect((published as Error).message).toMatch(/largest possible entry id/);
    } finally {
      await queue.close();
    }
  });

  it('a running consumer whose stream is replaced by another type reports CorruptDataError and keeps going', async () => {
    const admin = server.client();
    const prefix = uniquePrefix('wrongtype-live');
    const queue = new MessageQueue({
      adapter: closedAfterTest(
        redisStreamsQueueAdapter({ connection: server.url, prefix, blockMs: 50, sweepIntervalMs: 50 }),
      ),
    });
    const errors: Array<{ id: string | undefined; error: unknown }> = [];
    queue.on('error', (e) => void errors.push({ id: e.id, error: e.error }));
    try {
      const got: unknown[] = [];
      await queue.consume('orders', (m) => void got.push(m));
      await queue.publish('orders', 1);
      await until('the first message', () => got.length === 1);
      // Atomically: the consumer recreates a deleted stream at once.
      await admin.multi().del(`${prefix}orders`).set(`${prefix}orders`, 'junk').exec();
      await until('a data error reported', () => errors.length > 0);
      expect(errors[0]!.id).toBeUndefined();
      expect(errors[0]!.error).toBeInstanceOf(CorruptDataError);
      expect((errors[0]!.error as CorruptDataError).key).toBe(`${prefix}orders`);
      await admin.del(`${prefix}orders`);
      await queue.publish('orders', 2);
      await until('the consumer to carry on', () => got.length === 2);
      expect(got).toEqual([1, 2]);
    } finally {
      await queue.close();
    }
  });
});

describe('redisStreamsQueueAdapter: sweepIntervalMs past the 32-bit timer range', () => {
  it('a full consumer waits for a slot without waking every 1 ms (node cuts a 35-day pause to 1 ms)', async () => {
    const queue = new MessageQueue({
      adapter: closedAfterTest(
        redisStreamsQueueAdapter({
          connection: server.url,
          prefix: uniquePrefix('sweep-range'),
          sweepIntervalMs: PAST_TIMER_RANGE_MS,
          blockMs: 50,
        }),
      ),
    });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let handled = 0;
    try {
      await queue.consume(
        't',
        async () => {
          handled++;
          await held;
        },
        { prefetch: 1 },
      );
      await queue.publish('t', { n: 1 });
      await until('the message to be held', () => handled === 1);
      // Its one prefetch slot is taken: the reader pauses until a slot frees.
      const overflow = watchTimerOverflow();
      await sleep(50);
      overflow.stop();
      expect(overflow.count).toBe(0);
    } finally {
      release();
      await queue.close();
    }
  });
});
