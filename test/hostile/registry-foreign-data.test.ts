/**
 * Junk written with a raw ioredis client into every key family the Redis
 * registry adapter uses (the records hash, the leases sorted set, both with
 * the wrong Redis type, and the announcement channel), then the registry
 * is used as usual. The promise: typed `ERR_CORRUPT_DATA` error events (or
 * rejections) naming the key, junk never handed out, the good instances
 * still served, nothing reported as an outage, no crash.
 */
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RedisRegistryAdapter, redisRegistryAdapter } from '../../src/adapters/redis/registry.js';
import { ServiceClient } from '../../src/client/service-client.js';
import { isScaleoutError } from '../../src/errors.js';
import { roundRobinBalancer } from '../../src/registry/balancers/round-robin.js';
import { ServiceRegistry, type ServiceRegistryEvents } from '../../src/registry/service-registry.js';
import { type FakeUpstream, startFakeUpstream } from '../helpers/fake-upstream.js';
import { uniquePrefix } from '../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { until } from '../helpers/wait.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function adapter(prefix: string): RedisRegistryAdapter {
  const a = redisRegistryAdapter({ connection: redis.client(), prefix });
  cleanups.push(() => a.close());
  return a;
}
function registry(prefix: string, options: ConstructorParameters<typeof ServiceRegistry>[0] = {}) {
  const r = new ServiceRegistry({ adapter: adapter(prefix), operationTimeoutMs: 1_000, ...options });
  cleanups.push(() => r.close());
  const errors: ServiceRegistryEvents['error'][] = [];
  r.on('error', (e) => errors.push(e));
  return { registry: r, errors };
}
const keysOf = (prefix: string, service: string) => ({
  records: `${prefix}{registry:${service}}:records`,
  leases: `${prefix}{registry:${service}}:leases`,
  channel: `${prefix}registry:changes:${service}`,
});
const json = (record: Record<string, unknown>) => JSON.stringify(record);
const recordOf = (url: string, extra: Record<string, unknown> = {}) => ({
  service: 'svc',
  id: url,
  url,
  weight: 1,
  metadata: {},
  owner: 'foreign',
  registeredAt: 1,
  ...extra,
});

/** Junk for the records hash: field (the lease member) → stored text. */
function junkRecords(): Array<[string, string]> {
  const big = `{"service":"svc","id":"http://127.0.0.1:5013/","url":"http://127.0.0.1:5013/","weight":1,"metadata":{"x":"${'a'.repeat(2_000_000)}"},"owner":"o","registeredAt":1}`;
  return [
    ['javascript:alert(1)', json(recordOf('javascript:alert(1)'))],
    ['file:///etc/passwd', json(recordOf('file:///etc/passwd'))],
    ['data:text/plain,hi', json(recordOf('data:text/plain,hi'))],
    ['http://127.0.0.1:5001/', json(recordOf('http://127.0.0.1:5001/', { service: 'other' }))],
    ['http://127.0.0.1:5002/', json(recordOf('http://127.0.0.1:5002/', { weight: 'abc' }))],
    ['http://127.0.0.1:5003/', json(recordOf('http://127.0.0.1:5003/', { weight: 1e308 * 10 }))],
    ['http://127.0.0.1:5004/', 'not json at all'],
    ['http://127.0.0.1:5005/', json(recordOf('http://127.0.0.1:5005/')).slice(0, 40)],
    ['http://127.0.0.1:5006/', '{"\\u005f_proto__":{"admin":true},"service":"svc"}'],
    [
      'http://127.0.0.1:5007/',
      json(
        recordOf('http://127.0.0.1:5007/', { metadata: JSON.parse('{"\\u005f_proto__":{"admin":"yes"}}') }),
      ).replace('"__proto__"', '"\\u005f_proto__"'),
    ],
    ['http://127.0.0.1:5008/', json(recordOf('http://127.0.0.1:5009/'))], // stored under another id
    ['http://127.0.0.1:5010/', '[1,2,3]'],
    ['http://127.0.0.1:5011/', 'null'],
    [
      'http://127.0.0.1:5012/',
      json(recordOf('http://127.0.0.1:5012/', { registeredAt: 'yesterday', owner: '' })),
    ],
    ['http://127.0.0.1:5013/', big],
  ];
}

describe('registry: junk in every Redis key family', () => {
  it('records hash and leases set: junk records are skipped with typed error events naming the key; good instances served; a ServiceClient only reaches them', async () => {
    const prefix = uniquePrefix('reg-foreign');
    const keys = keysOf(prefix, 'svc');
    const raw: Redis = redis.client();
    const ups: FakeUpstream[] = [];
    for (let i = 0; i < 2; i++) {
      const up = await startFakeUpstream();
      cleanups.push(() => up.close());
      ups.push(up);
    }
    const owner = registry(prefix);
    for (const up of ups) await owner.registry.register('svc', up.url);
    const far = Date.now() + 60_000;
    for (const [field, text] of junkRecords()) {
      await raw.hset(keys.records, field, text);
      await raw.zadd(keys.leases, far, field);
    }
    // Leases without their record, and leases with impossible expiries around good-looking records.
    await raw.zadd(keys.leases, far, 'http://127.0.0.1:5020/');
    await raw.hset(keys.records, 'http://127.0.0.1:5021/', json(recordOf('http://127.0.0.1:5021/')));
    await raw.zadd(keys.leases, '+inf', 'http://127.0.0.1:5021/');
    await raw.hset(keys.records, 'http://127.0.0.1:5022/', json(recordOf('http://127.0.0.1:5022/')));
    await raw.zadd(keys.leases, Date.now() + 10 * 86_400_000, 'http://127.0.0.1:5022/');
    // A record field with no lease at all is never listed.
    await raw.hset(keys.records, 'http://127.0.0.1:5023/', 'junk');

    const { registry: watcher, errors } = registry(prefix, { balancer: roundRobinBalancer });
    const goodIds = ups.map((u) => `${u.url}/`).sort();
    expect((await watcher.instances('svc')).map((i) => i.id)).toEqual(goodIds);
    const skipped = errors.filter((e) => e.operation === 'list');
    expect(skipped.length).toBe(junkRecords().length + 2);
    for (const e of skipped) {
      expect(isScaleoutError(e.error, 'ERR_CORRUPT_DATA'), String(e.error)).toBe(true);
      expect((e.error as { key?: string }).key).toBe(keys.records);
      expect((e.error as Error).message).not.toMatch(/alert|passwd|aaaa/);
    }
    expect(errors.some((e) => isScaleoutError(e.error, 'ERR_CONNECTION'))).toBe(false);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    for (let i = 0; i < 40; i++) {
      const instance = await watcher.getServiceInstance('svc');
      expect(goodIds).toContain(instance.id);
      expect(instance.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    }

    const client = new ServiceClient({ service: 'svc', registry: watcher }, { retry: { maxAttempts: 1 } });
    cleanups.push(() => client.close());
    for (let i = 0; i < 10; i++) expect(await client.get<{ ok: boolean }>('/x')).toMatchObject({ ok: true });
    expect(ups.reduce((n, u) => n + u.requests, 0)).toBe(10);
    // The junk is left where it was: reported, not deleted (only the orphan lease is pruned).
    expect(await raw.hget(keys.records, 'javascript:alert(1)')).not.toBeNull();
  });

  it('a key of the wrong Redis type is reported as ERR_CORRUPT_DATA naming the key, never as an outage; other services are unaffected', async () => {
    const prefix = uniquePrefix('reg-wrongtype');
    const raw: Redis = redis.client();
    const hashAsString = keysOf(prefix, 'str');
    const setAsList = keysOf(prefix, 'lst');
    await raw.set(hashAsString.records, 'i am a string');
    await raw.rpush(setAsList.leases, 'i', 'am', 'a', 'list');
    const { registry: r, errors } = registry(prefix);
    await r.register('fine', 'http://127.0.0.1:5100');
    for (const [service, key] of [
      ['str', hashAsString.records],
      ['lst', setAsList.leases],
    ] as const) {
      const err = await r.register(service, 'http://127.0.0.1:5101').catch((e: unknown) => e);
      expect(isScaleoutError(err, 'ERR_CORRUPT_DATA'), String(err)).toBe(true);
      expect((err as { key?: string }).key).toBe(key);
      const watched = await r.watch(service).catch((e: unknown) => e);
      expect(isScaleoutError(watched, 'ERR_NO_INSTANCES')).toBe(true);
      expect(isScaleoutError((watched as Error).cause, 'ERR_CORRUPT_DATA')).toBe(true);
      expect(errors.some((e) => e.service === service && isScaleoutError(e.error, 'ERR_CORRUPT_DATA'))).toBe(
        true,
      );
    }
    expect(errors.some((e) => isScaleoutError(e.error, 'ERR_CONNECTION'))).toBe(false);
    // Nothing was written over the foreign keys, and the good service is served.
    expect(await raw.get(hashAsString.records)).toBe('i am a string');
    expect(await raw.lrange(setAsList.leases, 0, -1)).toEqual(['i', 'am', 'a', 'list']);
    expect(String(await r.getServiceInstance('fine'))).toBe('http://127.0.0.1:5100');
  });

  it('a key that turns to the wrong type under a live registration: heartbeats report ERR_CORRUPT_DATA, the last view keeps serving', async () => {
    const prefix = uniquePrefix('reg-wrongtype-live');
    const raw: Redis = redis.client();
    const keys = keysOf(prefix, 'svc');
    const owner = registry(prefix, { heartbeatIntervalMs: 50, ttlMs: 1_000 });
    await owner.registry.register('svc', 'http://127.0.0.1:5200');
    const { registry: watcher, errors } = registry(prefix, { resyncIntervalMs: 100 });
    await watcher.watch('svc');
    await raw.del(keys.records);
    await raw.set(keys.records, 'overwritten by someone else');
    await until('a heartbeat data error', () => owner.errors.some((e) => e.operation === 'heartbeat'), 5_000);
    const beat = owner.errors.find((e) => e.operation === 'heartbeat')!;
    expect(isScaleoutError(beat.error, 'ERR_CORRUPT_DATA')).toBe(true);
    expect((beat.error as { key?: string }).key).toBe(keys.records);
    await until('a list data error', () => errors.some((e) => e.operation === 'list'), 5_000);
    expect(errors.every((e) => isScaleoutError(e.error, 'ERR_CORRUPT_DATA'))).toBe(true);
    expect(String(watcher.pick('svc'))).toBe('http://127.0.0.1:5200');
  });

  it('our own record overwritten by junk: the owner registers it again (nothing lost), watchers skip the junk meanwhile', async () => {
    const prefix = uniquePrefix('reg-overwritten');
    const raw: Redis = redis.client();
    const keys = keysOf(prefix, 'svc');
    const owner = registry(prefix, { heartbeatIntervalMs: 50, ttlMs: 1_000 });
    const leases: ServiceRegistryEvents['lease'][] = [];
    owner.registry.on('lease', (e) => leases.push(e));
    await owner.registry.register('svc', 'http://127.0.0.1:5300');
    await raw.hset(keys.records, 'http://127.0.0.1:5300/', '{"truncated":');
    await until('the owner to register again', () => leases.length > 0, 5_000);
    expect(leases[0]!.status).toBe('renewed');
    const stored = JSON.parse((await raw.hget(keys.records, 'http://127.0.0.1:5300/'))!);
    expect(stored).toMatchObject({ service: 'svc', url: 'http://127.0.0.1:5300/' });
    const { registry: watcher } = registry(prefix);
    expect(String(await watcher.getServiceInstance('svc'))).toBe('http://127.0.0.1:5300');
  });

  it('junk published on the announcement channel: dropped with typed error events, the view unchanged, no crash', async () => {
    const prefix = uniquePrefix('reg-channel');
    const raw: Redis = redis.client();
    const keys = keysOf(prefix, 'svc');
    const owner = registry(prefix);
    await owner.registry.register('svc', 'http://127.0.0.1:5400');
    const { registry: watcher, errors } = registry(prefix);
    await watcher.watch('svc');
    const changes: ServiceRegistryEvents['change'][] = [];
    watcher.on('change', (c) => changes.push(c));
    const expires = Date.now() + 60_000;
    const junk = [
      'garbage',
      '',
      'null',
      '123',
      '[]',
      '{"type":"up"}',
      `{"type":"up","expiresAt":${expires},"record":${json(recordOf('javascript:alert(1)'))}}`,
      `{"type":"up","expiresAt":${expires},"record":${json(recordOf('data:text/plain,x'))}}`,
      `{"type":"up","expiresAt":${expires},"record":${json(recordOf('http://127.0.0.1:5401/', { service: 'other' }))}}`,
      `{"type":"up","expiresAt":${expires},"record":${json(recordOf('http://127.0.0.1:5402/', { weight: 'abc' }))}}`,
      `{"type":"up","expiresAt":"soon","record":${json(recordOf('http://127.0.0.1:5403/'))}}`,
      `{"type":"up","expiresAt":${Date.now() + 100 * 86_400_000},"record":${json(recordOf('http://127.0.0.1:5404/'))}}`,
      `{"\\u005f_proto__":{"admin":true},"type":"up"}`,
      '{"type":"down","id":123,"reason":"expired"}',
      '{"type":"down","id":"javascript:alert(1)","reason":"expired"}',
      '{"type":"down","id":"http://127.0.0.1:5400/","reason":"because"}',
      `{"type":"up","pad":"${'x'.repeat(2_000_000)}"}`,
    ];
    for (const message of junk) await raw.publish(keys.channel, message);
    await until('every junk message to be reported', () => errors.length >= junk.length, 5_000);
    expect(errors).toHaveLength(junk.length);
    for (const e of errors) {
      expect(e.operation).toBe('announcement');
      expect(isScaleoutError(e.error, 'ERR_CORRUPT_DATA'), String(e.error)).toBe(true);
      expect((e.error as { key?: string }).key).toBe(keys.channel);
    }
    expect(changes).toEqual([]);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    expect((await watcher.instances('svc')).map((i) => i.url)).toEqual(['http://127.0.0.1:5400']);
    // A well-formed announcement still works after all that.
    await owner.registry.register('svc', 'http://127.0.0.1:5405');
    await until('the new instance', () => changes.length === 1, 5_000);
    expect(String(changes[0]!.instance)).toBe('http://127.0.0.1:5405');
  });
});
