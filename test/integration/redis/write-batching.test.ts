import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisConnectionHandle } from '../../../src/adapters/redis/connection.js';
import { redisLockAdapter } from '../../../src/adapters/redis/lock.js';
import { redisRateLimitAdapter } from '../../../src/adapters/redis/rate-limit.js';
import { RateLimiter } from '../../../src/rate-limit/rate-limiter.js';
import { uniquePrefix } from '../../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';

/** Counts the socket operations (`_write` / `_writev`) a client's current socket performs. */
function countWrites(client: Redis): { readonly writes: number; readonly chunks: number } {
  const stream = client.stream as unknown as {
    _write: (...args: unknown[]) => unknown;
    _writev: (chunks: unknown[], ...rest: unknown[]) => unknown;
  };
  const counts = { writes: 0, chunks: 0 };
  const write = stream._write;
  const writev = stream._writev;
  stream._write = function (...args: unknown[]) {
    counts.writes++;
    counts.chunks++;
    return write.apply(this, args);
  };
  stream._writev = function (chunks: unknown[], ...rest: unknown[]) {
    counts.writes++;
    counts.chunks += chunks.length;
    return writev.call(this, chunks, ...rest);
  };
  return counts;
}

describe('connections scaleout creates send one tick of commands together', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('a URL connection: 50 reads issued in one tick leave in at most two socket writes', async () => {
    const handle = new RedisConnectionHandle(server.url);
    const client = handle.client as Redis;
    await client.ping();
    const key = `${uniquePrefix('batch')}k`;
    await client.set(key, 'v');
    const counts = countWrites(client);
    const replies = await Promise.all(Array.from({ length: 50 }, () => client.get(key)));
    expect(replies).toEqual(Array(50).fill('v'));
    expect(counts.chunks).toBe(50);
    expect(counts.writes).toBeLessThanOrEqual(2);
    await handle.close();
  });

  it('ioredis options: batched too; replies keep their order and each command its own error', async () => {
    const handle = new RedisConnectionHandle({ host: server.host, port: server.port });
    const client = handle.client as Redis;
    await client.ping();
    const prefix = uniquePrefix('batch');
    await client.sadd(`${prefix}set`, 'm');
    const counts = countWrites(client);
    const calls = Array.from({ length: 40 }, (_, i) =>
      i === 17 ? client.get(`${prefix}set`) : client.incrby(`${prefix}n`, 1),
    );
    const settled = await Promise.allSettled(calls);
    expect(counts.writes).toBeLessThanOrEqual(2);
    // WRONGTYPE for the one GET of a set; every INCRBY answered in issue order.
    expect(settled[17]).toMatchObject({
      status: 'rejected',
      reason: { message: expect.stringMatching(/^WRONGTYPE/) },
    });
    const numbers = settled
      .filter((_, i) => i !== 17)
      .map((s) => (s as PromiseFulfilledResult<number>).value);
    expect(numbers).toEqual(Array.from({ length: 39 }, (_, i) => i + 1));
    await handle.close();
  });

  it('a lone command is written at once, not held to the end of the tick', async () => {
    const handle = new RedisConnectionHandle(server.url);
    const client = handle.client as Redis;
    await client.ping();
    const counts = countWrites(client);
    const reply = client.ping();
    expect(counts.writes).toBe(1); // synchronously, before any tick or microtask has run
    expect(await reply).toBe('PONG');
    for (let i = 0; i < 5; i++) await client.ping();
    expect(counts.writes).toBe(6); // one at a time: one write each, nothing corked
    await handle.close();
  });

  it('keeps batching after a reconnect (a new socket)', async () => {
    const handle = new RedisConnectionHandle(server.url);
    const client = handle.client as Redis;
    await client.ping();
    const first = client.stream;
    const readyAgain = new Promise<void>((r) => client.once('ready', () => r()));
    client.disconnect(true);
    await readyAgain;
    expect(client.stream).not.toBe(first);
    const counts = countWrites(client);
    await Promise.all(Array.from({ length: 30 }, () => client.ping()));
    expect(counts.chunks).toBe(30);
    expect(counts.writes).toBeLessThanOrEqual(2);
    await handle.close();
  });

  it('a client the user passes is used as configured: one socket write per command', async () => {
    const mine = server.client();
    const handle = new RedisConnectionHandle(mine);
    expect(handle.owned).toBe(false);
    await mine.ping();
    const counts = countWrites(mine);
    await Promise.all(Array.from({ length: 50 }, () => mine.ping()));
    expect(counts.chunks).toBe(50);
    expect(counts.writes).toBeGreaterThan(25);
    expect(mine.options.enableAutoPipelining).toBe(false);
    await handle.close();
    expect(mine.status).toBe('ready'); // not closed either
  });

  it('batchWrites: false writes each command as it comes', async () => {
    const handle = new RedisConnectionHandle(server.url, { batchWrites: false });
    const client = handle.client as Redis;
    await client.ping();
    const counts = countWrites(client);
    await Promise.all(Array.from({ length: 50 }, () => client.ping()));
    expect(counts.chunks).toBe(50);
    expect(counts.writes).toBeGreaterThan(25);
    await handle.close();
  });

  it('batchWrites: 8 (the lock adapter: Lua scripts) writes a tick in writes of at most 8 commands', async () => {
    const handle = new RedisConnectionHandle(server.url, { batchWrites: 8 });
    const adapter = redisLockAdapter({ connection: server.url, prefix: uniquePrefix('lockconn') });
    for (const client of [handle.client as Redis, adapter.client as Redis]) {
      await client.ping();
      const counts = countWrites(client);
      const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => client.echo(`m${i}`)));
      expect(replies).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
      expect(counts.chunks).toBe(50);
      // The first alone, then 49 corked commands in writes of 8: 1 + ceil(49 / 8) = 8.
      expect(counts.writes).toBe(8);
      // A lone command is still written at once.
      const lone = countWrites(client);
      await client.ping();
      expect(lone.writes).toBe(1);
    }
    await handle.close();
    await adapter.close();
  });

  it('the rate limit adapter writes a tick of decisions 8 at a time on a connection it creates, one each on yours', async () => {
    const created = redisRateLimitAdapter({ connection: server.url, prefix: uniquePrefix('rlconn') });
    const passed = server.client();
    const yours = redisRateLimitAdapter({ connection: passed, prefix: uniquePrefix('rlpass') });
    for (const [adapter, writes] of [
      [created, 8],
      [yours, 50],
    ] as const) {
      const limiter = new RateLimiter({ adapter, name: 'w', limits: { limit: 1_000, windowMs: 60_000 } });
      await limiter.consume('warm');
      const counts = countWrites(adapter.client as Redis);
      const decisions = await Promise.all(
        Array.from({ length: 50 }, (_, i) => limiter.consume(`k${i % 10}`)),
      );
      expect(decisions.every((d) => d.allowed && d.source === 'adapter')).toBe(true);
      expect(counts.chunks).toBe(50);
      // Created: the first alone, then 49 in writes of 8 (1 + ceil(49 / 8) = 8); passed: as configured.
      expect(counts.writes).toBe(writes);
      // Each key took 5: the decisions all reached Redis.
      expect((await limiter.peek('k3')).remaining).toBe(995);
      await limiter.close();
    }
    await created.close();
    await yours.close();
    passed.disconnect();
  });
});
