import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisLockAdapter } from '../../../src/adapters/redis/lock.js';
import { CorruptDataError, InvalidOptionsError } from '../../../src/errors.js';
import { DistributedLock } from '../../../src/lock/index.js';
import { uniquePrefix } from '../../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';

/** redisLockAdapter({ fencing: false }): locks without fencing tokens, a plain SET NX PX per acquire. */
describe('redis lock adapter without fencing tokens', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('refuses a fencing option that is not a boolean', () => {
    for (const fencing of ['false', 0, null]) {
      expect(() => redisLockAdapter({ connection: server.client(), fencing: fencing as never })).toThrow(
        InvalidOptionsError,
      );
    }
  });

  it('acquires with one SET NX PX (token 0, no fencing counter) and releases with one script', async () => {
    const client = server.client();
    const adapter = redisLockAdapter({ connection: client, prefix: uniquePrefix('plain'), fencing: false });
    await adapter.acquire({ resource: 'warm', token: 'w', ttlMs: 1000, limit: 1 });
    await adapter.release({ resource: 'warm', token: 'w', limit: 1 });
    const sent: string[] = [];
    const original = client.sendCommand.bind(client);
    client.sendCommand = ((command: { name: string }) => {
      sent.push(command.name);
      return original(command as never);
    }) as typeof client.sendCommand;
    const granted = await adapter.acquire({ resource: 'r', token: 't', ttlMs: 10_000, limit: 1 });
    expect(granted).toEqual({ acquired: true, fencingToken: 0, validityMs: 10_000 });
    expect(await adapter.release({ resource: 'r', token: 't', limit: 1 })).toBe(true);
    client.sendCommand = original;
    expect(sent).toEqual(['set', 'evalsha']);
    expect(await client.exists(adapter.keysOf('r', 1).fence)).toBe(0);
    await adapter.close();
  });

  it('a taken resource is refused with the holder TTL and marked, so its release wakes the waiter', async () => {
    const client = server.client();
    const adapter = redisLockAdapter({ connection: client, prefix: uniquePrefix('plain'), fencing: false });
    expect((await adapter.acquire({ resource: 'r', token: 'a', ttlMs: 10_000, limit: 1 })).acquired).toBe(
      true,
    );
    const refused = await adapter.acquire({ resource: 'r', token: 'b', ttlMs: 10_000, limit: 1 });
    expect(refused.acquired).toBe(false);
    expect(!refused.acquired && refused.retryAfterMs! > 0 && refused.retryAfterMs! <= 10_000).toBe(true);
    let woken = 0;
    const sub = await adapter.onRelease('r', 1, () => {
      woken += 1;
    });
    expect(await adapter.release({ resource: 'r', token: 'a', limit: 1 })).toBe(true);
    for (let i = 0; i < 100 && woken === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(woken).toBe(1);
    await sub.unsubscribe();
    await adapter.close();
  });

  it('a lock record of another type or without expiry is ERR_CORRUPT_DATA; a foreign holder with an expiry is waited for', async () => {
    const client = server.client();
    const adapter = redisLockAdapter({ connection: client, prefix: uniquePrefix('plain'), fencing: false });
    await client.hset(adapter.keysOf('hash', 1).hold, 'f', 'x');
    await client.set(adapter.keysOf('forever', 1).hold, 'someone');
    await client.set(adapter.keysOf('foreign', 1).hold, 'someone', 'PX', 60_000);
    for (const resource of ['hash', 'forever']) {
      const err = await adapter.acquire({ resource, token: 't', ttlMs: 1000, limit: 1 }).catch((e) => e);
      expect(err).toBeInstanceOf(CorruptDataError);
      expect(err.key).toBe(adapter.keysOf(resource, 1).hold);
    }
    expect((await adapter.acquire({ resource: 'foreign', token: 't', ttlMs: 1000, limit: 1 })).acquired).toBe(
      false,
    );
    await adapter.close();
  });

  it('DistributedLock on it: leases carry token 0, one holder at a time, waiters across locks handed over', async () => {
    const prefix = uniquePrefix('plain-lock');
    const a = new DistributedLock({
      adapter: redisLockAdapter({ connection: server.client(), prefix, fencing: false }),
    });
    const b = new DistributedLock({
      adapter: redisLockAdapter({ connection: server.client(), prefix, fencing: false }),
      retryMaxMs: 60_000,
      retryMinMs: 60_000,
    });
    const lease = await a.acquire('r', { ttlMs: 30_000 });
    expect(lease.fencingToken).toBe(0);
    expect(await b.tryAcquire('r')).toBeNull();
    const started = Date.now();
    const waiting = b.acquire('r', { ttlMs: 30_000, waitMs: 20_000 });
    await new Promise((r) => setTimeout(r, 100));
    await lease.release();
    const next = await waiting;
    // Woken by the release (polls are a minute apart here), not by a poll.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(next.fencingToken).toBe(0);
    await next.release();
    for (const lock of [a, b]) {
      await lock.close();
      await lock.adapter.close();
    }
  });
});
