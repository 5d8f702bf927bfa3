/**
 * Promise checked: junk that another program writes into the keys of the
 * Redis session adapter (session hashes, per-user indexes) and of the JWT
 * denylist never crashes, never reads as an outage (ERR_CONNECTION), and
 * never loses anything: each primitive answers with a typed data error
 * (ERR_CORRUPT_DATA, ERR_DESERIALIZE, ERR_UNSAFE_PAYLOAD) or a documented
 * skip, the junk stays where it was, and good sessions are unaffected.
 *
 * Documented skips (docs/sessions.md "Foreign data"): a hash at a session
 * key holding none of the session fields reads as no session; ids in an
 * index that are not session ids, and sessions an index lists that belong
 * to another user, are left alone by destroyAllForUser; any key at a
 * denylist key revokes that jti (fails closed).
 */
import session from 'express-session';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RedisJwtDenylist } from '../../src/adapters/redis/jwt-denylist.js';
import { RedisSessionAdapter } from '../../src/adapters/redis/session.js';
import { createAuthorizer } from '../../src/auth/authorizer.js';
import { createJwt } from '../../src/auth/jwt.js';
import { isScaleoutError } from '../../src/errors.js';
import { expressSessionStore } from '../../src/session/express-session-store.js';
import { generateSessionId } from '../../src/session/session-id.js';
import { SessionStore } from '../../src/session/session-store.js';
import { deleteKeysWithPrefix, uniquePrefix } from '../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';

type Outcome = string; // 'ok:<value>' or an error code

async function outcome(run: () => Promise<unknown>): Promise<Outcome> {
  try {
    const value = await run();
    return `ok:${value === undefined ? 'undefined' : typeof value === 'object' ? 'object' : String(value)}`;
  } catch (err) {
    if (isScaleoutError(err)) return err.code;
    throw err; // a raw error is a failure of the test
  }
}

/** Everything about a key, to check that nothing was lost or changed. */
async function snapshot(redis: Redis, key: string): Promise<string> {
  const type = await redis.type(key);
  switch (type) {
    case 'string':
      return `string:${await redis.get(key)}`;
    case 'hash':
      return `hash:${JSON.stringify(Object.entries(await redis.hgetall(key)).sort())}`;
    case 'list':
      return `list:${JSON.stringify(await redis.lrange(key, 0, -1))}`;
    case 'set':
      return `set:${JSON.stringify((await redis.smembers(key)).sort())}`;
    case 'zset':
      return `zset:${JSON.stringify(await redis.zrange(key, 0, -1, 'WITHSCORES'))}`;
    case 'stream':
      return `stream:${await redis.xlen(key)}`;
    default:
      return type;
  }
}

describe('foreign data in the Redis session and denylist keys', () => {
  let server: RedisServer;
  let redis: Redis;
  let prefix: string;
  let sessions: SessionStore<Record<string, unknown>>;
  let good: { id: string; data: Record<string, unknown> };

  const sessionKey = (id: string) => `${prefix}s:${id}`;
  const indexKey = (user: string) => `${prefix}u:${user}`;

  beforeAll(async () => {
    server = await startRedisServer();
    redis = server.client();
  });
  afterAll(async () => {
    await server.stop();
  });
  beforeEach(async () => {
    prefix = uniquePrefix('foreign');
    sessions = new SessionStore({ adapter: new RedisSessionAdapter({ connection: redis, prefix }) });
    const s = await sessions.create({ cart: ['sku-1'], n: 1 }, { userId: 'good-user' });
    good = { id: s.id, data: s.data };
    return async () => {
      await deleteKeysWithPrefix(redis, prefix);
    };
  });

  async function expectGoodUnaffected(): Promise<void> {
    expect((await sessions.get(good.id))?.data).toEqual(good.data);
    expect((await sessions.touch(good.id))?.data).toEqual(good.data);
  }

  const CALLS = {
    get: (id: string) => sessions.get(id),
    touch: (id: string) => sessions.touch(id),
    update: (id: string) => sessions.update(id, { n: 2 }, { expectedVersion: 1 }),
    merge: (id: string) => sessions.update(id, (d) => ({ ...d, n: 3 })),
    regenerate: (id: string) => sessions.regenerate(id),
  };

  /**
   * Every primitive call, each on a fresh id seeded with the same junk;
   * unless `mayWrite` names the call, the junk must be exactly as it was.
   */
  async function callEverything(
    seed: (id: string) => Promise<unknown>,
    mayWrite: string[] = [],
  ): Promise<Record<string, Outcome>> {
    const results: Record<string, Outcome> = {};
    for (const [name, call] of Object.entries(CALLS)) {
      const id = generateSessionId();
      await seed(id);
      const before = await snapshot(redis, sessionKey(id));
      results[name] = await outcome(() => call(id));
      if (!mayWrite.includes(name)) expect(await snapshot(redis, sessionKey(id)), name).toBe(before);
    }
    return results;
  }

  const wrongTypes: Array<[string, (key: string) => Promise<unknown>]> = [
    ['a string', (k) => redis.set(k, '{"d":"x"}')],
    ['a list', (k) => redis.rpush(k, 'd', 'v')],
    ['a set', (k) => redis.sadd(k, 'd')],
    ['a sorted set', (k) => redis.zadd(k, 1, 'd')],
    ['a stream', (k) => redis.xadd(k, '*', 'd', 'x')],
  ];

  it.each(wrongTypes)(
    'a session key holding %s: ERR_CORRUPT_DATA everywhere, never ERR_CONNECTION',
    async (_name, write) => {
      const results = await callEverything((id) => write(sessionKey(id)));
      for (const [call, code] of Object.entries(results)) expect(code, call).toBe('ERR_CORRUPT_DATA');
      const id = generateSessionId();
      await write(sessionKey(id));
      const before = await snapshot(redis, sessionKey(id));
      expect(await outcome(() => sessions.destroy(id))).toBe('ERR_CORRUPT_DATA');
      expect(await snapshot(redis, sessionKey(id))).toBe(before);
      // The error names the key, never the value.
      const err = await sessions.get(id).catch((e: unknown) => e);
      expect(err).toMatchObject({ key: sessionKey(id) });
      expect(String((err as Error).message)).not.toContain('"d"');
      await expectGoodUnaffected();
    },
  );

  const junkFields: Array<[string, Record<string, string>]> = [
    ['version not a number', { d: '{}', v: 'abc', u: '', t: '60000' }],
    ['version a fraction', { d: '{}', v: '1.5', u: '', t: '60000' }],
    ['version past 2^53', { d: '{}', v: '90071992547409930', u: '', t: '60000' }],
    ['version zero', { d: '{}', v: '0', u: '', t: '60000' }],
    ['ttl negative', { d: '{}', v: '1', u: '', t: '-5' }],
    ['ttl not a number', { d: '{}', v: '1', u: '', t: 'soon' }],
    ['ttl past a year', { d: '{}', v: '1', u: '', t: '99999999999' }],
    ['ttl missing', { d: '{}', v: '1', u: '' }],
    ['data missing', { v: '1', u: '', t: '60000' }],
    ['owner missing', { d: '{}', v: '1', t: '60000' }],
  ];

  it.each(junkFields)('a session hash with %s: ERR_CORRUPT_DATA, nothing written', async (_name, fields) => {
    const results = await callEverything((id) => redis.hset(sessionKey(id), fields));
    for (const [call, code] of Object.entries(results)) expect(code, call).toBe('ERR_CORRUPT_DATA');
    // No TTL was set on the junk either (it would expire: lost).
    const id = generateSessionId();
    await redis.hset(sessionKey(id), fields);
    await sessions.touch(id).catch(() => undefined);
    expect(await redis.pttl(sessionKey(id))).toBe(-1);
    await expectGoodUnaffected();
  });

  const junkData: Array<[string, string, string]> = [
    ['truncated JSON', '{"cart":["sku', 'ERR_DESERIALIZE'],
    ['not JSON at all', '\u0000\u00ff binary', 'ERR_DESERIALIZE'],
    ['a __proto__ key', '{"__proto__":{"admin":true}}', 'ERR_UNSAFE_PAYLOAD'],
    ['a constructor.prototype key', '{"constructor":{"prototype":{"admin":true}}}', 'ERR_UNSAFE_PAYLOAD'],
    ['5 MB (over maxDataBytes)', `"${'x'.repeat(5 * 1_048_576)}"`, 'ERR_CORRUPT_DATA'],
  ];

  it.each(junkData)(
    'session data that is %s: typed, and regenerate moves nothing',
    async (_name, data, code) => {
      const results = await callEverything(
        (id) => redis.hset(sessionKey(id), { d: data, v: '1', u: 'junk-user', t: '60000' }),
        // A value update does not read the old data: it replaces it (version
        // checked). touch slides the expiry of a record whose fields are well
        // formed before the store decodes its data (one round trip): the data stays.
        ['update', 'touch'],
      );
      expect(results).toEqual({ get: code, touch: code, update: 'ok:object', merge: code, regenerate: code });
      const touched = generateSessionId();
      await redis.hset(sessionKey(touched), { d: data, v: '1', u: '', t: '60000' });
      expect(await outcome(() => sessions.touch(touched))).toBe(code);
      expect(await redis.hget(sessionKey(touched), 'd')).toBe(data);
      // regenerate moved nothing: the record keeps its id and its place in the index.
      const id = generateSessionId();
      await redis.hset(sessionKey(id), { d: data, v: '1', u: 'moved-user', t: '60000' });
      await redis.sadd(indexKey('moved-user'), id);
      expect(await outcome(() => sessions.regenerate(id))).toBe(code);
      expect(await redis.hget(sessionKey(id), 'd')).toBe(data);
      expect(await redis.smembers(indexKey('moved-user'))).toEqual([id]);
      await expectGoodUnaffected();
    },
  );

  it('session data with an escaped \\u005f_proto__ key is ERR_UNSAFE_PAYLOAD', async () => {
    const results = await callEverything(
      (id) =>
        redis.hset(sessionKey(id), { d: '{"\\u005f_proto__":{"admin":true}}', v: '1', u: '', t: '60000' }),
      ['update', 'touch'],
    );
    expect(results).toMatchObject({
      get: 'ERR_UNSAFE_PAYLOAD',
      touch: 'ERR_UNSAFE_PAYLOAD',
      merge: 'ERR_UNSAFE_PAYLOAD',
      regenerate: 'ERR_UNSAFE_PAYLOAD',
    });
  });

  it('a hash holding none of the session fields reads as no session (documented skip), and is left alone', async () => {
    const seed = (id: string) => redis.hset(sessionKey(id), { owner: 'another-program', value: '42' });
    expect(await callEverything(seed)).toEqual({
      get: 'ok:undefined',
      touch: 'ok:undefined',
      update: 'ERR_SESSION_NOT_FOUND',
      merge: 'ERR_SESSION_NOT_FOUND',
      regenerate: 'ok:undefined',
    });
    const id = generateSessionId();
    await seed(id);
    const before = await snapshot(redis, sessionKey(id));
    expect(await outcome(() => sessions.destroy(id))).toBe('ok:false');
    expect(await snapshot(redis, sessionKey(id))).toBe(before);
  });

  it('a user index of another type: login is refused (nothing half-created), the user’s sessions stay intact', async () => {
    const s = await sessions.create({ n: 1 }, { userId: 'victim' });
    await redis.del(indexKey('victim'));
    await redis.set(indexKey('victim'), 'not a set');
    const sessionKeysBefore = (await redis.keys(`${prefix}s:*`)).length;

    const created = await sessions.create({ n: 2 }, { userId: 'victim' }).catch((e: unknown) => e);
    expect(created).toMatchObject({ code: 'ERR_CORRUPT_DATA', key: indexKey('victim') });
    expect((await redis.keys(`${prefix}s:*`)).length).toBe(sessionKeysBefore);

    expect(await outcome(() => sessions.destroyAllForUser('victim'))).toBe('ERR_CORRUPT_DATA');
    expect((await sessions.get(s.id))?.data).toEqual({ n: 1 });
    // regenerate checks the index before moving anything.
    expect(await outcome(() => sessions.regenerate(s.id))).toBe('ERR_CORRUPT_DATA');
    expect((await sessions.get(s.id))?.data).toEqual({ n: 1 });
    // A value update lands and says so (its index refresh is best effort).
    await redis.hset(sessionKey(s.id), 'iu', '0');
    expect(await outcome(() => sessions.update(s.id, { n: 3 }, { expectedVersion: 1 }))).toBe('ok:object');
    expect((await sessions.get(s.id))?.data).toEqual({ n: 3 });
    // When the index is due for extension, touch reports the damage.
    expect(await outcome(() => sessions.touch(s.id))).toBe('ERR_CORRUPT_DATA');
    expect((await sessions.get(s.id))?.data).toEqual({ n: 3 });
    // destroy still ends the session (the damaged index is not its concern).
    expect(await outcome(() => sessions.destroy(s.id))).toBe('ok:true');
    expect(await redis.get(indexKey('victim'))).toBe('not a set');
    await expectGoodUnaffected();
  });

  it('an index listing junk ids and another user’s session: destroyAllForUser ends only the user’s own', async () => {
    const mine = await sessions.create({ n: 1 }, { userId: 'alice' });
    const theirs = await sessions.create({ n: 2 }, { userId: 'bob' });
    const stray = `${prefix}s:not-a-session-id`;
    await redis.set(stray, 'someone else’s key');
    await redis.sadd(indexKey('alice'), theirs.id, 'not-a-session-id', '*', 'x'.repeat(100_000));
    // A session key of another type listed under alice.
    const foreignId = generateSessionId();
    await redis.set(sessionKey(foreignId), 'foreign');
    await redis.sadd(indexKey('alice'), foreignId);

    expect(await sessions.destroyAllForUser('alice')).toBe(1);
    expect(await sessions.get(mine.id)).toBeUndefined();
    expect((await sessions.get(theirs.id))?.data).toEqual({ n: 2 });
    expect(await redis.get(stray)).toBe('someone else’s key');
    expect(await redis.get(sessionKey(foreignId))).toBe('foreign');
    expect(await sessions.destroyAllForUser('bob')).toBe(1);
    await expectGoodUnaffected();
  });

  it('a session hash whose owner differs from the index it is listed in follows its own owner', async () => {
    const s = await sessions.create({ n: 1 }, { userId: 'carol' });
    await redis.hset(sessionKey(s.id), 'u', 'mallory');
    expect(await sessions.destroyAllForUser('carol')).toBe(0);
    expect((await sessions.get(s.id))?.userId).toBe('mallory');
    const moved = await sessions.regenerate(s.id);
    expect(moved?.userId).toBe('mallory');
    expect(await redis.smembers(indexKey('mallory'))).toContain(moved!.id);
    expect(await sessions.destroyAllForUser('mallory')).toBe(1);
  });

  it('express-session store: junk records are typed errors through the callback; good ones are served', async () => {
    const store = expressSessionStore(session, { sessions: sessions as SessionStore<unknown> });
    const call = (fn: (cb: (err?: unknown, value?: unknown) => void) => void) =>
      new Promise<Outcome>((resolve) =>
        fn((err, value) =>
          resolve(
            err === null || err === undefined
              ? `ok:${value === null ? 'null' : typeof value}`
              : isScaleoutError(err)
                ? err.code
                : `raw:${String(err)}`,
          ),
        ),
      );
    // [name, what is stored, store.get outcome, store.set outcome]
    const cases: Array<[string, (key: string) => Promise<unknown>, Outcome, Outcome]> = [
      ['wrong type', (k) => redis.set(k, 'x'), 'ERR_CORRUPT_DATA', 'ERR_CORRUPT_DATA'],
      [
        'junk fields',
        (k) => redis.hset(k, { d: '{}', v: 'x', u: '', t: '1' }),
        'ERR_CORRUPT_DATA',
        'ERR_CORRUPT_DATA',
      ],
      [
        'junk JSON',
        (k) => redis.hset(k, { d: '{"cookie":', v: '1', u: '', t: '60000' }),
        'ERR_DESERIALIZE',
        'ok:undefined',
      ],
      [
        'an array',
        (k) => redis.hset(k, { d: '[1,2]', v: '1', u: '', t: '60000' }),
        'ERR_CORRUPT_DATA',
        'ok:undefined',
      ],
      [
        'cookie not an object',
        (k) => redis.hset(k, { d: '{"cookie":5}', v: '1', u: '', t: '60000' }),
        'ERR_CORRUPT_DATA',
        'ok:undefined',
      ],
      [
        'a __proto__ key',
        (k) => redis.hset(k, { d: '{"__proto__":{"x":1}}', v: '1', u: '', t: '60000' }),
        'ERR_UNSAFE_PAYLOAD',
        'ok:undefined',
      ],
    ];
    for (const [name, write, getOutcome, setOutcome] of cases) {
      const sid = generateSessionId();
      await write(sessionKey(sid));
      expect(await call((cb) => store.get(sid, cb as never)), name).toBe(getOutcome);
      // express-session's set replaces a session whole; a damaged record is not overwritten.
      expect(await call((cb) => store.set(sid, { cookie: { maxAge: 60_000 }, a: 1 }, cb)), name).toBe(
        setOutcome,
      );
    }
    expect(await call((cb) => store.get(good.id, cb as never))).toBe('ok:object');
  });

  it('express-session store: a login onto a user whose index is damaged keeps the session it had', async () => {
    const store = expressSessionStore(session, { sessions: sessions as SessionStore<unknown> });
    const call = (fn: (cb: (err?: unknown) => void) => void) =>
      new Promise<unknown>((resolve) => fn((err) => resolve(err ?? 'ok')));
    const sid = store.genid();
    expect(await call((cb) => store.set(sid, { cookie: { maxAge: 60_000 }, cart: ['sku-9'] }, cb))).toBe(
      'ok',
    );
    await redis.set(indexKey('victim-2'), 'not a set');
    // Login without regenerate: the owner changes, so the store re-creates the record under the new owner.
    const err = await call((cb) =>
      store.set(sid, { cookie: { maxAge: 60_000 }, cart: ['sku-9'], userId: 'victim-2' }, cb),
    );
    expect(err).toMatchObject({ code: 'ERR_CORRUPT_DATA', key: indexKey('victim-2') });
    // The anonymous session was put back: the cart is not lost.
    expect((await sessions.get(sid))?.data).toMatchObject({ cart: ['sku-9'] });
    expect((await sessions.get(sid))?.userId).toBeUndefined();
    expect(await redis.get(indexKey('victim-2'))).toBe('not a set');
  });

  it('JWT denylist keys: any key there revokes (fails closed); revoking over junk works', async () => {
    const denylist = new RedisJwtDenylist({ connection: redis, prefix: `${prefix}deny:` });
    const jwt = createJwt({ secret: 'k'.repeat(32), denylist });
    const writes: Array<(key: string) => Promise<unknown>> = [
      (k) => redis.set(k, 'junk'),
      (k) => redis.hset(k, 'a', 'b'),
      (k) => redis.rpush(k, 'x'),
      (k) => redis.set(k, 'x'.repeat(1_048_576)),
    ];
    for (const write of writes) {
      const token = await jwt.sign({ sub: 'u' });
      const { jti } = await jwt.verify(token);
      await write(`${prefix}deny:${jti}`);
      const before = await snapshot(redis, `${prefix}deny:${jti}`);
      await expect(jwt.verify(token)).rejects.toMatchObject({ code: 'ERR_JWT_REVOKED' });
      expect(await snapshot(redis, `${prefix}deny:${jti}`)).toBe(before);
      // An authorizer answers 401, not 500.
      const decision = await createAuthorizer({ jwt }).decide({
        headers: { authorization: `Bearer ${token}` },
      });
      expect(decision).toMatchObject({ ok: false, status: 401, code: 'ERR_JWT_REVOKED' });
    }
    // revoke() of a token whose key holds foreign data of another type.
    const token = await jwt.sign({ sub: 'v' });
    const { jti } = await jwt.verify(token);
    await redis.hset(`${prefix}deny:${jti}`, 'a', 'b');
    await expect(jwt.revoke(token)).resolves.toBeUndefined();
    await expect(jwt.verify(token)).rejects.toMatchObject({ code: 'ERR_JWT_REVOKED' });
  });
});
