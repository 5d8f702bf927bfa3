/**
 * SessionStore and its memory adapters: wrong calls refused loudly, numeric
 * user ids, the data size cap, records validated on read, and regenerate
 * never losing a session it cannot read.
 */
import session from 'express-session';
import { describe, expect, it } from 'vitest';
import { MemoryJwtDenylist } from '../../../src/adapters/memory/memory-jwt-denylist.js';
import { MemorySessionAdapter } from '../../../src/adapters/memory/memory-session-adapter.js';
import type { SessionAdapter, SessionRecord } from '../../../src/contracts/session.js';
import { isScaleoutError } from '../../../src/errors.js';
import { expressSessionStore } from '../../../src/session/express-session-store.js';
import { generateSessionId } from '../../../src/session/session-id.js';
import { SessionStore } from '../../../src/session/session-store.js';

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

const MiB = 1_048_576;

describe('options: unknown keys and bare numbers are refused', () => {
  it('SessionStore, its method options and the memory adapters', async () => {
    expect(caught(() => new SessionStore({ ttl: 3600 } as never))).toMatchObject({
      code: 'ERR_INVALID_OPTIONS',
      option: 'ttl',
      suggestion: 'ttlMs',
    });
    expect(caught(() => new SessionStore({ sessionTTL: 86_400 } as never))).toMatchObject({
      suggestion: 'ttlMs',
    });
    expect(caught(() => new SessionStore(3600 as never))).toMatchObject({
      code: 'ERR_INVALID_OPTIONS',
      option: 'ttlMs',
    });
    // A Redis client (or anything else) where the adapter goes.
    expect(caught(() => new SessionStore({ adapter: new Map() } as never))).toMatchObject({
      option: 'adapter',
    });
    expect(caught(() => new SessionStore({ redisClient: {} } as never))).toMatchObject({
      suggestion: 'adapter',
    });
    expect(caught(() => new SessionStore({ maxDataBytes: 0 }))).toMatchObject({ option: 'maxDataBytes' });
    const store = new SessionStore();
    await expect(store.create({}, { ttl: 5 } as never)).rejects.toMatchObject({ suggestion: 'ttlMs' });
    await expect(store.create({}, 3600 as never)).rejects.toMatchObject({ option: 'ttlMs' });
    // The design's argument order: createSession(user.id, user).
    await expect(store.create(7 as never, { id: 7, name: 'a' } as never)).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTIONS',
      suggestion: 'userId',
    });
    const s = await store.create({ n: 1 });
    await expect(store.update(s.id, { n: 2 }, { version: 1 } as never)).rejects.toMatchObject({
      suggestion: 'expectedVersion',
    });
    await expect(store.update(s.id, { n: 2 }, 1 as never)).rejects.toMatchObject({
      option: 'expectedVersion',
    });
    expect(caught(() => new MemorySessionAdapter({ max: 10 } as never))).toMatchObject({
      suggestion: 'maxSessions',
    });
    expect(caught(() => new MemoryJwtDenylist({ size: 10 } as never))).toMatchObject({
      suggestion: 'maxEntries',
    });
    expect(caught(() => expressSessionStore(session, { sessions: store, ttl: 5 } as never))).toMatchObject({
      suggestion: 'ttlMs',
    });
    expect(caught(() => expressSessionStore(session, { sessions: {} } as never))).toMatchObject({
      option: 'sessions',
    });
  });

  it('the memory denylist refuses entries it could not honour', async () => {
    const denylist = new MemoryJwtDenylist();
    await expect(denylist.add('', Date.now() + 1000)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(denylist.add('j', Number.NaN)).rejects.toMatchObject({ argument: 'expiresAtMs' });
    await expect(denylist.has(5 as never)).rejects.toMatchObject({ argument: 'jti' });
  });
});

describe('numeric user ids (the design’s createSession(user.id, user))', () => {
  it('are accepted, indexed as their decimal string, and logged out by either spelling', async () => {
    const store = new SessionStore();
    const a = await store.create({ n: 1 }, { userId: 42 });
    const b = await store.create({ n: 2 }, { userId: '42' });
    expect(a.userId).toBe('42');
    expect((await store.get(a.id))?.userId).toBe('42');
    expect(await store.destroyAllForUser(42)).toBe(2);
    expect(await store.get(b.id)).toBeUndefined();
    for (const userId of [1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, 10n, {}, '', 'a\u0000b']) {
      await expect(store.create({}, { userId } as never)).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
      });
    }
  });

  it('express-session: a numeric req.session.userId is indexed too', async () => {
    const sessions = new SessionStore<unknown>();
    const store = expressSessionStore(session, { sessions });
    const sid = store.genid();
    await new Promise<void>((resolve, reject) =>
      store.set(sid, { cookie: { maxAge: 60_000 }, userId: 7 }, (err) => (err ? reject(err) : resolve())),
    );
    expect((await sessions.get(sid))?.userId).toBe('7');
    expect(await sessions.destroyAllForUser(7)).toBe(1);
  });
});

describe('size cap on session data (1 MiB by default)', () => {
  const big = { blob: 'x'.repeat(2 * MiB) };

  it('create, update and merge update refuse data over maxDataBytes; nothing is stored', async () => {
    const adapter = new MemorySessionAdapter();
    const store = new SessionStore({ adapter });
    await expect(store.create(big)).rejects.toMatchObject({
      code: 'ERR_PAYLOAD_TOO_LARGE',
      maxBytes: MiB,
    });
    const s = await store.create({ blob: 'small' });
    await expect(store.update(s.id, big, { expectedVersion: 1 })).rejects.toMatchObject({
      code: 'ERR_PAYLOAD_TOO_LARGE',
    });
    await expect(store.update(s.id, () => big)).rejects.toMatchObject({ code: 'ERR_PAYLOAD_TOO_LARGE' });
    expect((await store.get(s.id))?.data).toEqual({ blob: 'small' });
    // Multi-byte text is counted in UTF-8 bytes.
    const small = new SessionStore({ maxDataBytes: 1000 });
    const err = await small.create({ t: 'é'.repeat(600) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_PAYLOAD_TOO_LARGE', maxBytes: 1000 });
    expect((err as { bytes: number }).bytes).toBe(Buffer.byteLength(JSON.stringify({ t: 'é'.repeat(600) })));
    expect(await small.create({ t: 'é'.repeat(100) })).toBeDefined();
  });

  it('the express-session store path is capped too', async () => {
    const sessions = new SessionStore<unknown>({ maxDataBytes: 4096 });
    const store = expressSessionStore(session, { sessions });
    const sid = store.genid();
    const err = await new Promise((resolve) =>
      store.set(sid, { cookie: {}, blob: 'x'.repeat(10_000) }, (e) => resolve(e)),
    );
    expect(isScaleoutError(err, 'ERR_PAYLOAD_TOO_LARGE')).toBe(true);
    expect(await sessions.get(sid)).toBeUndefined();
  });

  it('a stored record over the cap reads as corrupt, not parsed', async () => {
    const adapter = new MemorySessionAdapter();
    const id = generateSessionId();
    await adapter.create({ id, data: JSON.stringify(big), userId: undefined, ttlMs: 60_000 });
    const store = new SessionStore({ adapter });
    await expect(store.get(id)).rejects.toMatchObject({ code: 'ERR_CORRUPT_DATA' });
  });
});

describe('records from an adapter are validated as strictly as they are written', () => {
  it('a junk version, ttl, owner or data type is ERR_CORRUPT_DATA', async () => {
    const id = generateSessionId();
    const junk: Array<Partial<SessionRecord>> = [
      { version: Number.NaN },
      { version: 0 },
      { ttlMs: -1 },
      { ttlMs: 1.5 },
      { userId: 5 as never },
      { data: 5 as never },
    ];
    for (const patch of junk) {
      const adapter = new MemorySessionAdapter();
      await adapter.create({ id, data: '{}', userId: undefined, ttlMs: 60_000 });
      const get = adapter.get.bind(adapter);
      adapter.get = async (i) => {
        const r = await get(i);
        return r && { ...r, ...patch };
      };
      await expect(new SessionStore({ adapter }).get(id)).rejects.toMatchObject({ code: 'ERR_CORRUPT_DATA' });
    }
  });
});

describe('regenerate never loses a session', () => {
  it('a record that cannot be read fails before anything moves; the old id keeps it', async () => {
    const adapter = new MemorySessionAdapter();
    const store = new SessionStore({ adapter });
    const id = generateSessionId();
    await adapter.create({ id, data: '{"cart":', userId: 'u1', ttlMs: 60_000 });
    await expect(store.regenerate(id)).rejects.toMatchObject({ code: 'ERR_DESERIALIZE' });
    expect(await adapter.get(id)).toMatchObject({ data: '{"cart":', userId: 'u1' });
    // Still indexed under its user: logout everywhere still finds it.
    expect(await store.destroyAllForUser('u1')).toBe(1);
  });

  it('a record damaged between the read and the move is moved back under its id', async () => {
    const inner = new MemorySessionAdapter();
    const store = new SessionStore({ adapter: inner });
    const s = await store.create({ cart: [] }, { userId: 'u2' });
    // Another writer damages the record just as it moves.
    const move = inner.move.bind(inner);
    let damaged = false;
    const adapter: SessionAdapter = inner;
    adapter.move = async (input) => {
      const result = await move(input);
      if (!damaged && result.status === 'ok') {
        damaged = true;
        return { status: 'ok', record: { ...result.record, data: 'junk' } };
      }
      return result;
    };
    await expect(store.regenerate(s.id)).rejects.toMatchObject({ code: 'ERR_DESERIALIZE' });
    expect((await store.get(s.id))?.data).toEqual({ cart: [] });
    expect(await store.destroyAllForUser('u2')).toBe(1);
  });
});

describe('wrong calls are reported as such (found by the hostile suite)', () => {
  it('update reports a wrong call before looking the id up', async () => {
    const store = new SessionStore();
    await expect(store.update('not-an-id', {}, { version: 1 } as never)).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTIONS',
    });
    await expect(store.update('not-an-id', { n: 1 } as never)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
  });

  it('a session adapter called directly refuses malformed input with a typed error', async () => {
    const adapter = new MemorySessionAdapter();
    const id = generateSessionId();
    for (const call of [
      () => adapter.create(null as never),
      () => adapter.create({ id, data: {} as never, userId: undefined, ttlMs: 1000 }),
      () => adapter.create({ id, data: '{}', userId: 5 as never, ttlMs: 1000 }),
      () => adapter.create({ id, data: '{}', userId: undefined, ttlMs: Number.NaN }),
      () => adapter.get(Symbol('id') as never),
      () => adapter.touch('' as never),
      () => adapter.update({ id, data: '{}', expectedVersion: 0.5 }),
      () => adapter.move({ id, newId: {} as never }),
      () => adapter.destroy(undefined as never),
      () => adapter.destroyAllForUser(undefined as never),
    ]) {
      await expect(call()).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    }
  });

  it('express-session store: a callback that is not a function never becomes an unhandled rejection', async () => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    try {
      const store = expressSessionStore(session, { sessions: new SessionStore<unknown>() });
      const sid = store.genid();
      store.set(sid, { cookie: {} }, 5 as never);
      store.get(sid, 'cb' as never);
      store.destroy(sid, {} as never);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(rejections).toEqual([]);
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });
});

describe('session data the serializer cannot represent is refused, never changed', () => {
  const unfaithful: Array<[string, Record<string, unknown>, string]> = [
    ['a Map', { cart: new Map([['sku', 1]]) }, '$.cart'],
    ['a Set', { seen: new Set(['a']) }, '$.seen'],
    ['a Date', { loggedInAt: new Date(0) }, '$.loggedInAt'],
    ['NaN', { score: Number.NaN }, '$.score'],
    ['undefined in an array', { list: [1, undefined] }, '$.list[1]'],
    ['a function', { user: { id: 1, can: () => true } }, '$.user.can'],
  ];

  it.each(unfaithful)(
    'create, update and merge update refuse %s at its path; nothing is stored',
    async (_, bad, path) => {
      const store = new SessionStore();
      const refused = (err: unknown) => {
        expect(isScaleoutError(err, 'ERR_SERIALIZE')).toBe(true);
        expect((err as Error).message).toMatch(/^cannot store in a session /);
        expect((err as Error).message).toContain(` at ${path}:`);
        expect((err as Error).message).not.toContain('sku');
      };
      refused(await store.create(bad).catch((e: unknown) => e));
      const s = await store.create({ ok: true });
      refused(await store.update(s.id, bad, { expectedVersion: 1 }).catch((e: unknown) => e));
      refused(await store.update(s.id, () => bad).catch((e: unknown) => e));
      const now = await store.get(s.id);
      expect(now?.data).toEqual({ ok: true });
      expect(now?.version).toBe(1);
    },
  );

  it('the express-session store path refuses it too (the cookie, which express-session rebuilds, is not checked)', async () => {
    const sessions = new SessionStore<unknown>();
    const store = expressSessionStore(session, { sessions });
    const sid = store.genid();
    const set = (data: Record<string, unknown>) =>
      new Promise((resolve) => store.set(sid, data as never, (e) => resolve(e)));
    const cookie = {
      originalMaxAge: 60_000,
      expires: new Date(Date.now() + 60_000),
      httpOnly: true,
      path: '/',
    };
    const err = await set({ cookie, cart: new Map([['sku', 1]]) });
    expect(isScaleoutError(err, 'ERR_SERIALIZE')).toBe(true);
    expect((err as Error).message).toMatch(/^cannot store in a session a Map .* at \$\.cart:/);
    expect(await sessions.get(sid)).toBeUndefined();
    expect(await set({ cookie, cart: { sku: 1 } })).toBeFalsy();
    expect((await sessions.get(sid))?.data).toMatchObject({ cart: { sku: 1 } });
  });
});
