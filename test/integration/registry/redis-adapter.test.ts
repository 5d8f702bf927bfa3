import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { redisRegistryAdapter } from '../../../src/adapters/redis/registry.js';
import type { RegistryRecord } from '../../../src/contracts/registry.js';
import { fakeClock } from '../../helpers/clock.js';
import { uniquePrefix } from '../../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';

function record(service: string, port: number): RegistryRecord {
  const url = `http://127.0.0.1:${port}/`;
  return { service, id: url, url, weight: 1, metadata: {}, owner: 'o', registeredAt: 1 };
}

describe('redisRegistryAdapter on a real redis-server', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('keeps both keys of a service under one hash tag, with an expiry, and removes them with the last instance', async () => {
    const client = redis.client();
    const prefix = uniquePrefix('registry-keys');
    const adapter = redisRegistryAdapter({ connection: client, prefix });
    await adapter.register(record('orders', 4001), { ttlMs: 10_000 });
    const keys = (await client.keys(`${prefix}*`)).sort();
    expect(keys).toEqual([`${prefix}{registry:orders}:leases`, `${prefix}{registry:orders}:records`]);
    for (const key of keys) {
      const pttl = await client.pttl(key);
      expect(pttl).toBeGreaterThan(10_000);
      expect(pttl).toBeLessThanOrEqual(80_000);
    }
    await adapter.deregister('orders', 'http://127.0.0.1:4001/', 'o');
    expect(await client.keys(`${prefix}*`)).toEqual([]);
    await adapter.close();
    // The client was ours: the adapter left it open.
    expect(await client.ping()).toBe('PONG');
  });

  it('never serves a record it cannot read, and reports garbage on its channel', async () => {
    const client = redis.client();
    const prefix = uniquePrefix('registry-garbage');
    const adapter = redisRegistryAdapter({ connection: client, prefix });
    const changes: unknown[] = [];
    const subscription = await adapter.subscribe('orders', (c) => changes.push(c));
    await adapter.register(record('orders', 4001), { ttlMs: 10_000 });
    const records = `${prefix}{registry:orders}:records`;
    const leases = `${prefix}{registry:orders}:leases`;
    await client.hset(
      records,
      'bad',
      '{"__proto__":{"polluted":true},"id":"bad","url":"x","service":"orders"}',
    );
    await client.zadd(leases, Date.now() + 60_000, 'bad');
    await client.hset(records, 'worse', 'not json');
    await client.zadd(leases, Date.now() + 60_000, 'worse');
    await client.publish(`${prefix}registry:changes:orders`, 'garbage');
    await client.publish(`${prefix}registry:changes:orders`, '{"type":"up","expiresAt":1}');
    const { instances, skipped } = await adapter.list('orders');
    expect(instances.map((i) => i.record.id)).toEqual(['http://127.0.0.1:4001/']);
    expect(skipped?.map((e) => [e.code, e.key])).toEqual([
      ['ERR_CORRUPT_DATA', records],
      ['ERR_CORRUPT_DATA', records],
    ]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await new Promise((r) => setTimeout(r, 100));
    expect(changes.map((c) => (c as { type: string }).type)).toEqual(['up', 'corrupt', 'corrupt']);
    await subscription.unsubscribe();
    await adapter.close();
  });

  it('bounds an announced lease by the clock it was given', async () => {
    const client = redis.client();
    const prefix = uniquePrefix('registry-own-clock');
    // Two days behind: every lease announced now ends further ahead than the longest lease (a day).
    const behind = redisRegistryAdapter({
      connection: client,
      prefix,
      clock: fakeClock(Date.now() - 172_800_000),
    });
    const onTime = redisRegistryAdapter({ connection: client, prefix });
    const seenBehind: string[] = [];
    const seenOnTime: string[] = [];
    const subscriptions = [
      await behind.subscribe('orders', (c) => seenBehind.push(c.type)),
      await onTime.subscribe('orders', (c) => seenOnTime.push(c.type)),
    ];
    await onTime.register(record('orders', 4001), { ttlMs: 10_000 });
    await vi.waitFor(() => expect(seenOnTime).toEqual(['up']));
    await vi.waitFor(() => expect(seenBehind).toEqual(['corrupt']));
    for (const subscription of subscriptions) await subscription.unsubscribe();
    await onTime.deregister('orders', 'http://127.0.0.1:4001/', 'o');
    await Promise.all([behind.close(), onTime.close()]);
    expect(() => redisRegistryAdapter({ connection: client, prefix, now: () => 0 } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', option: 'now', suggestion: 'clock' }),
    );
  });

  it('expires leases by the Redis clock, not by the caller', async () => {
    const client = redis.client();
    const prefix = uniquePrefix('registry-clock');
    const adapter = redisRegistryAdapter({ connection: client, prefix });
    const { now, expiresAt } = await adapter.register(record('orders', 4001), { ttlMs: 5000 });
    const [seconds, micros] = await client.time();
    const serverNow = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    expect(Math.abs(serverNow - now)).toBeLessThan(1000);
    expect(expiresAt - now).toBe(5000);
    expect(Number(await client.zscore(`${prefix}{registry:orders}:leases`, 'http://127.0.0.1:4001/'))).toBe(
      expiresAt,
    );
    await adapter.close();
  });
});
