import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisSessionAdapter } from '../../../src/adapters/redis/session.js';
import { InvalidOptionsError } from '../../../src/errors.js';
import { SessionStore } from '../../../src/session/session-store.js';
import { sessionStoreSuite } from '../../conformance/session-store-suite.js';
import { fakeClock } from '../../helpers/clock.js';
import { deleteKeysWithPrefix, uniquePrefix } from '../../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';

describe('RedisSessionAdapter on a real redis-server', () => {
  let redis: RedisServer;
  const prefix = uniquePrefix('sess-adapter');
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    const admin = redis.client();
    await deleteKeysWithPrefix(admin, prefix);
    await redis.stop();
  });

  const clientCount = async () => {
    const admin = redis.client();
    const list = (await admin.client('LIST')) as string;
    admin.disconnect();
    return list.trim().split('\n').length - 1; // minus the admin connection itself
  };

  it('closes a connection it created, and leaves a passed client open', async () => {
    const before = await clientCount();
    const owned = new RedisSessionAdapter({ connection: redis.url, prefix });
    await owned.get('x'.repeat(43));
    expect(await clientCount()).toBe(before + 1);
    await owned.close();
    expect(await clientCount()).toBe(before);

    const client = redis.client();
    const borrowed = new RedisSessionAdapter({ connection: client, prefix });
    await borrowed.get('x'.repeat(43));
    await borrowed[Symbol.asyncDispose]();
    expect(await client.ping()).toBe('PONG');
  });

  it('two stores on one adapter that owns its connection: closing a store closes neither', async () => {
    const before = await clientCount();
    const adapter = new RedisSessionAdapter({ connection: redis.url, prefix });
    const a = new SessionStore({ adapter });
    const b = new SessionStore({ adapter });
    const s = await a.create({ n: 1 });
    expect(await clientCount()).toBe(before + 1);
    await a.close();
    expect((await b.get(s.id))?.data).toEqual({ n: 1 });
    expect(await clientCount()).toBe(before + 1);
    await b.close();
    expect(await clientCount()).toBe(before + 1);
    // The adapter is the caller's: its close() ends the connection it made.
    await adapter.close();
    expect(await clientCount()).toBe(before);
  });

  sessionStoreSuite({
    name: 'a real redis-server',
    create: () => new RedisSessionAdapter({ connection: redis.url, prefix: uniquePrefix('sess-suite') }),
  });

  it('keeps the per-user index alive at least as long as the sessions, with TTLs on every key', async () => {
    const client = redis.client();
    const store = new SessionStore({
      adapter: new RedisSessionAdapter({ connection: client, prefix }),
      ttlMs: 60_000,
    });
    const a = await store.create({ n: 1 }, { userId: 'idx-user' });
    const sessionTtl = await client.pttl(`${prefix}s:${a.id}`);
    const indexTtl = await client.pttl(`${prefix}u:idx-user`);
    expect(sessionTtl).toBeGreaterThan(50_000);
    expect(sessionTtl).toBeLessThanOrEqual(60_000);
    expect(indexTtl).toBeGreaterThan(110_000);
    expect(indexTtl).toBeLessThanOrEqual(120_000);
    expect(await client.smembers(`${prefix}u:idx-user`)).toEqual([a.id]);
    // If the index is lost (eviction, clock jump), the next write puts the session back into it.
    await client.del(`${prefix}u:idx-user`);
    await client.hset(`${prefix}s:${a.id}`, 'iu', '0');
    await store.touch(a.id);
    expect(await client.smembers(`${prefix}u:idx-user`)).toEqual([a.id]);
    expect(await client.pttl(`${prefix}u:idx-user`)).toBeGreaterThan(110_000);
    await store.destroy(a.id);
    expect(await client.exists(`${prefix}u:idx-user`)).toBe(0);
  });

  it('records the per-user index deadline on the clock it was given', async () => {
    const clock = fakeClock();
    const client = redis.client();
    const adapter = new RedisSessionAdapter({ connection: client, prefix, clock });
    const id = 'c'.repeat(43);
    const key = `${prefix}s:${id}`;
    expect(await adapter.create({ id, data: '{}', userId: 'clock-user', ttlMs: 10_000 })).toBe(true);
    // The index lives two session TTLs from the clock's now.
    expect(await client.hget(key, 'iu')).toBe(String(clock.now() + 20_000));
    // Once a TTL from the clock's now passes the deadline, touch extends the index and records the new one.
    clock.advance(15_000);
    await adapter.touch(id);
    expect(await client.hget(key, 'iu')).toBe(String(clock.now() + 20_000));
    expect(await adapter.destroy(id)).toBe(true);
    expect(() => new RedisSessionAdapter({ connection: client, prefix, now: () => 0 } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', option: 'now', suggestion: 'clock' }),
    );
    await adapter.close();
  });

  it('validates its options', () => {
    expect(() => new RedisSessionAdapter({ connection: redis.url, prefix: 'has space' })).toThrow(
      InvalidOptionsError,
    );
    expect(() => new RedisSessionAdapter({ connection: 'http://nope' })).toThrow(InvalidOptionsError);
    expect(() => new RedisSessionAdapter(undefined as never)).toThrow(InvalidOptionsError);
  });
});
