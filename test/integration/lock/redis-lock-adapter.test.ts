import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisLockAdapter } from '../../../src/adapters/redis/lock.js';
import { isScaleoutError } from '../../../src/errors.js';
import { uniquePrefix } from '../../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';

function slotOf(key: string): string {
  const open = key.indexOf('{');
  const close = key.indexOf('}', open + 1);
  return open >= 0 && close > open + 1 ? key.slice(open + 1, close) : key;
}

describe('redis lock adapter on a real redis-server', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('keeps the hold key and the fencing counter in one Cluster slot (shared hash tag)', () => {
    const adapter = redisLockAdapter({ connection: server.client(), prefix: 'app:' });
    for (const limit of [1, 5]) {
      const keys = adapter.keysOf('user_points:42', limit);
      expect(slotOf(keys.hold)).toBe(slotOf(keys.fence));
      expect(slotOf(keys.hold)).toBe('user_points:42');
    }
    const odd = adapter.keysOf('a{b}c', 1);
    expect(slotOf(odd.hold)).toBe(slotOf(odd.fence));
  });

  it('runs each operation as one EVALSHA after the first call', async () => {
    const client = server.client();
    const adapter = redisLockAdapter({ connection: client, prefix: uniquePrefix('sha') });
    await adapter.acquire({ resource: 'warm', token: 'w', ttlMs: 1000, limit: 1 });
    await adapter.release({ resource: 'warm', token: 'w', limit: 1 });
    const sent: string[] = [];
    const original = client.sendCommand.bind(client);
    client.sendCommand = ((command: { name: string }) => {
      sent.push(command.name);
      return original(command as never);
    }) as typeof client.sendCommand;
    const r = await adapter.acquire({ resource: 'r', token: 't', ttlMs: 1000, limit: 1 });
    expect(r.acquired).toBe(true);
    expect(await adapter.release({ resource: 'r', token: 't', limit: 1 })).toBe(true);
    expect(sent).toEqual(['evalsha', 'evalsha']);
    client.sendCommand = original;
  });

  it('reads the fencing counter with one GET: no TYPE, and no INCR when it seeds a new one', async () => {
    const client = server.client();
    const adapter = redisLockAdapter({ connection: client, prefix: uniquePrefix('calls') });
    await adapter.acquire({ resource: 'warm', token: 'w', ttlMs: 1000, limit: 1 });
    await adapter.release({ resource: 'warm', token: 'w', limit: 1 });
    await client.config('RESETSTAT');
    const first = await adapter.acquire({ resource: 'r', token: 'a', ttlMs: 10_000, limit: 1 });
    await adapter.release({ resource: 'r', token: 'a', limit: 1 });
    const second = await adapter.acquire({ resource: 'r', token: 'b', ttlMs: 10_000, limit: 1 });
    await adapter.release({ resource: 'r', token: 'b', limit: 1 });
    // Redis counts the commands a script runs in INFO commandstats.
    const calls = (command: string, info: string) =>
      Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
    const info = await client.info('commandstats');
    expect(calls('type', info)).toBe(0);
    expect(calls('incr', info)).toBe(1); // the second acquire; the first seeded the counter
    expect(first.acquired && second.acquired && second.fencingToken > first.fencingToken).toBe(true);
  });

  it('an uncontended acquire + release is SET, GET, TIME, SET and GET, DEL: no PUBLISH when nobody waited', async () => {
    const client = server.client();
    const adapter = redisLockAdapter({ connection: client, prefix: uniquePrefix('pub') });
    await adapter.acquire({ resource: 'warm', token: 'w', ttlMs: 1000, limit: 1 });
    await adapter.release({ resource: 'warm', token: 'w', limit: 1 });
    const calls = (info: string) =>
      Object.fromEntries([...info.matchAll(/cmdstat_(\w+):calls=(\d+)/g)].map((m) => [m[1], Number(m[2])]));
    await client.config('RESETSTAT');
    expect((await adapter.acquire({ resource: 'r', token: 'a', ttlMs: 10_000, limit: 1 })).acquired).toBe(
      true,
    );
    expect(await adapter.release({ resource: 'r', token: 'a', limit: 1 })).toBe(true);
    const uncontended = calls(await client.info('commandstats'));
    // Redis counts the commands a script runs too (INFO itself only once it returns).
    expect(uncontended).toEqual({ evalsha: 2, set: 2, get: 2, time: 1, del: 1 });

    // A refused acquire marks the hold as waited for: its release publishes, once.
    let delivered = 0;
    const sub = await adapter.onRelease('r', 1, () => {
      delivered += 1;
    });
    expect((await adapter.acquire({ resource: 'r', token: 'b', ttlMs: 10_000, limit: 1 })).acquired).toBe(
      true,
    );
    const refused = await adapter.acquire({ resource: 'r', token: 'c', ttlMs: 10_000, limit: 1 });
    expect(refused.acquired).toBe(false);
    expect(await client.exists(adapter.keysOf('r', 1).waiting)).toBe(1);
    await client.config('RESETSTAT');
    expect(await adapter.release({ resource: 'r', token: 'b', limit: 1 })).toBe(true);
    expect(calls(await client.info('commandstats')).publish).toBe(1);
    for (let i = 0; i < 100 && delivered === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(delivered).toBe(1);
    expect(await client.exists(adapter.keysOf('r', 1).waiting)).toBe(0);
    // The next holder nobody waited for: no PUBLISH again.
    expect((await adapter.acquire({ resource: 'r', token: 'd', ttlMs: 10_000, limit: 1 })).acquired).toBe(
      true,
    );
    await client.config('RESETSTAT');
    expect(await adapter.release({ resource: 'r', token: 'd', limit: 1 })).toBe(true);
    expect(calls(await client.info('commandstats')).publish).toBeUndefined();
    await sub.unsubscribe();
    await adapter.close();
  });

  it('re-seeds a lost fencing counter from the server clock, so tokens still grow', async () => {
    const client = server.client();
    const adapter = redisLockAdapter({ connection: client, prefix: uniquePrefix('seed') });
    const first = await adapter.acquire({ resource: 'r', token: 'a', ttlMs: 10_000, limit: 1 });
    expect(first.acquired).toBe(true);
    await adapter.release({ resource: 'r', token: 'a', limit: 1 });
    // Simulate data loss (a restart without persistence): the counter is gone.
    await client.del(adapter.keysOf('r', 1).fence);
    const second = await adapter.acquire({ resource: 'r', token: 'b', ttlMs: 10_000, limit: 1 });
    expect(second.acquired && first.acquired && second.fencingToken > first.fencingToken).toBe(true);
    expect(await client.pttl(adapter.keysOf('r', 1).fence)).toBeGreaterThan(0);
  });

  it('fails closed with a ConnectionError when Redis is down, and never grants', async () => {
    const down = await startRedisServer();
    const adapter = redisLockAdapter({
      connection: { host: '127.0.0.1', port: down.port, maxRetriesPerRequest: 1, retryStrategy: () => 50 },
      prefix: uniquePrefix('down'),
    });
    expect((await adapter.acquire({ resource: 'r', token: 'a', ttlMs: 1000, limit: 1 })).acquired).toBe(true);
    await down.kill();
    const err = await adapter.acquire({ resource: 'r2', token: 'b', ttlMs: 1000, limit: 1 }).catch((e) => e);
    expect(isScaleoutError(err, 'ERR_CONNECTION')).toBe(true);
    const relErr = await adapter.release({ resource: 'r', token: 'a', limit: 1 }).catch((e) => e);
    expect(isScaleoutError(relErr, 'ERR_CONNECTION')).toBe(true);
    await adapter.close();
    await down.stop();
  });
});
