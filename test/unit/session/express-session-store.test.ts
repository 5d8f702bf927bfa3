import session from 'express-session';
import { describe, expect, it } from 'vitest';
import { MemorySessionAdapter } from '../../../src/adapters/memory/memory-session-adapter.js';
import type { SessionAdapter } from '../../../src/contracts/session.js';
import { ConnectionError, CorruptDataError } from '../../../src/errors.js';
import { expressSessionStore } from '../../../src/session/express-session-store.js';
import { SessionStore } from '../../../src/session/session-store.js';
import { systemClock } from '../../../src/types.js';
import { fakeClock } from '../../helpers/clock.js';

/** A memory adapter that records every call made to it. */
function countingAdapter(inner: SessionAdapter = new MemorySessionAdapter()) {
  const calls: string[] = [];
  const adapter = new Proxy(inner, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function' || typeof name !== 'string') return value;
      return (...args: unknown[]) => {
        calls.push(name);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { adapter, calls };
}

const call = <T>(fn: (cb: (err?: unknown, value?: T) => void) => void) =>
  new Promise<T | undefined>((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));

describe('expressSessionStore: one store call per express-session call', () => {
  it('refuses sessions that are not a SessionStore with a typed error (null, a number, a plain object)', () => {
    for (const sessions of [null, 5, 'x', {}, { adapter: null }]) {
      expect(() => expressSessionStore(session, { sessions: sessions as never })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', option: 'sessions' }),
      );
    }
  });

  it('get is one adapter.get, touch one adapter.touch, with nothing else around them', async () => {
    const { adapter, calls } = countingAdapter();
    const sessions = new SessionStore({ adapter });
    const store = expressSessionStore(session, { sessions });
    const sid = store.genid();
    await call((cb) => store.set(sid, { cookie: { maxAge: 60_000 }, userId: 'u1', n: 1 }, cb));
    calls.length = 0;

    expect(await call((cb) => store.get(sid, cb))).toMatchObject({ userId: 'u1', n: 1 });
    expect(calls).toEqual(['get']);
    calls.length = 0;
    await call((cb) => store.touch(sid, { cookie: { maxAge: 60_000 } }, cb));
    expect(calls).toEqual(['touch']);
    calls.length = 0;

    // Ids the store never made, and missing sessions: null without a second call.
    expect(await call((cb) => store.get('../../etc/passwd', cb))).toBeNull();
    await call((cb) => store.touch('nope', {}, cb));
    expect(calls).toEqual([]);
    expect(await call((cb) => store.get(store.genid(), cb))).toBeNull();
    expect(calls).toEqual(['get']);
  });

  it('the answer comes through the callback, never synchronously; failures are passed on as they are', async () => {
    const { adapter } = countingAdapter();
    const store = expressSessionStore(session, { sessions: new SessionStore({ adapter }) });
    let answered = false;
    const pending = call((cb) => {
      store.get(store.genid(), (err, value) => {
        answered = true;
        cb(err, value);
      });
    });
    expect(answered).toBe(false);
    await pending;

    const failing: SessionAdapter = Object.assign(Object.create(new MemorySessionAdapter()), {
      get: () => Promise.reject(new ConnectionError('down')),
      touch: () => {
        throw new ConnectionError('down at once');
      },
    });
    const broken = expressSessionStore(session, { sessions: new SessionStore({ adapter: failing }) });
    await expect(call((cb) => broken.get(broken.genid(), cb))).rejects.toBeInstanceOf(ConnectionError);
    await expect(call((cb) => broken.touch(broken.genid(), {}, cb))).rejects.toBeInstanceOf(ConnectionError);
  });

  it('a record the adapter returns is checked as SessionStore checks it', async () => {
    const sid = 'A'.repeat(43);
    const junk: SessionAdapter = Object.assign(Object.create(new MemorySessionAdapter()), {
      get: async () => ({ data: '[1,2]', version: 1, userId: undefined, ttlMs: 1000 }),
    });
    const store = expressSessionStore(session, { sessions: new SessionStore({ adapter: junk }) });
    await expect(call((cb) => store.get(sid, cb))).rejects.toBeInstanceOf(CorruptDataError);
    const badVersion: SessionAdapter = Object.assign(Object.create(new MemorySessionAdapter()), {
      get: async () => ({ data: '{}', version: 0, userId: undefined, ttlMs: 1000 }),
    });
    const other = expressSessionStore(session, { sessions: new SessionStore({ adapter: badVersion }) });
    await expect(call((cb) => other.get(sid, cb))).rejects.toBeInstanceOf(CorruptDataError);
  });
});

describe('expressSessionStore: a save writes against the version its request loaded', () => {
  it('get then set is one get and one update: no read before the write', async () => {
    const { adapter, calls } = countingAdapter();
    const sessions = new SessionStore({ adapter });
    const store = expressSessionStore(session, { sessions });
    const sid = store.genid();
    await call((cb) => store.set(sid, { cookie: { maxAge: 60_000 }, userId: 'u1', n: 1 }, cb));
    expect(calls).toEqual(['create']); // a new id: created, not read first
    calls.length = 0;
    for (let n = 2; n <= 4; n++) {
      const loaded = await call<Record<string, unknown> | null>((cb) => store.get(sid, cb));
      await call((cb) => store.set(sid, { ...loaded, n }, cb));
    }
    expect(calls).toEqual(['get', 'update', 'get', 'update', 'get', 'update']);
    expect((await sessions.get(sid))?.version).toBe(4);
    expect(await call((cb) => store.get(sid, cb))).toMatchObject({ n: 4 });
  });

  it('a version written elsewhere since the load: the conflict answers, the save lands (last writer wins)', async () => {
    const { adapter, calls } = countingAdapter();
    const sessions = new SessionStore<Record<string, unknown>>({ adapter });
    const store = expressSessionStore(session, { sessions });
    const sid = store.genid();
    await call((cb) => store.set(sid, { cookie: { maxAge: 60_000 }, userId: 'u1', n: 1 }, cb));
    const loaded = await call<Record<string, unknown> | null>((cb) => store.get(sid, cb));
    await sessions.update(sid, (d) => ({ ...d, n: 'elsewhere' }));
    calls.length = 0;
    await call((cb) => store.set(sid, { ...loaded, n: 'mine' }, cb));
    expect(calls).toEqual(['update', 'update']);
    expect((await sessions.get(sid))?.data).toMatchObject({ n: 'mine' });
  });

  it('destroyed after the load: the save does not bring it back', async () => {
    const { adapter, calls } = countingAdapter();
    const sessions = new SessionStore({ adapter });
    const store = expressSessionStore(session, { sessions });
    const sid = store.genid();
    await call((cb) => store.set(sid, { cookie: { maxAge: 60_000 }, userId: 'carol' }, cb));
    const loaded = await call<Record<string, unknown> | null>((cb) => store.get(sid, cb));
    expect(await sessions.destroyAllForUser('carol')).toBe(1);
    calls.length = 0;
    await call((cb) => store.set(sid, { ...loaded, n: 2 }, cb));
    expect(calls).toEqual(['update', 'get']);
    expect(await sessions.get(sid)).toBeUndefined();
  });

  it('a new owner (login) reads the record and re-creates it under the owner’s index', async () => {
    const { adapter, calls } = countingAdapter();
    const sessions = new SessionStore({ adapter });
    const store = expressSessionStore(session, { sessions });
    const sid = store.genid();
    await call((cb) => store.set(sid, { cookie: { maxAge: 60_000 } }, cb));
    const loaded = await call<Record<string, unknown> | null>((cb) => store.get(sid, cb));
    calls.length = 0;
    await call((cb) => store.set(sid, { ...loaded, userId: 'dave' }, cb));
    expect(calls).toEqual(['get', 'destroy', 'create']);
    expect((await sessions.get(sid))?.userId).toBe('dave');
    calls.length = 0;
    await call((cb) => store.set(sid, { ...loaded, userId: 'dave', n: 1 }, cb));
    expect(calls).toEqual(['update']);
    expect(await sessions.destroyAllForUser('dave')).toBe(1);
  });
});

describe('expressSessionStore: its caches keep the SessionStore’s clock', () => {
  it('SessionStore exposes its clock (systemClock by default)', () => {
    const clock = fakeClock();
    expect(new SessionStore({ clock }).clock).toBe(clock);
    expect(new SessionStore().clock).toBe(systemClock);
  });

  it('an id from genid not saved within 10 minutes of the given clock is no longer created', async () => {
    const clock = fakeClock();
    const { adapter, calls } = countingAdapter(new MemorySessionAdapter({ clock }));
    const sessions = new SessionStore({ adapter, clock });
    const store = expressSessionStore(session, { sessions });
    const sid = store.genid();
    clock.advance(10 * 60_000 + 1);
    await call((cb) => store.set(sid, { cookie: { maxAge: 86_400_000 }, userId: 'u1' }, cb));
    expect(calls).toEqual(['get']); // read, found missing, not created: the id is stale
    expect(await sessions.get(sid)).toBeUndefined();
  });

  it('a version loaded more than 60 s ago on the given clock is read again before the save', async () => {
    const clock = fakeClock();
    const { adapter, calls } = countingAdapter(new MemorySessionAdapter({ clock }));
    const sessions = new SessionStore<Record<string, unknown>>({ adapter, clock });
    const store = expressSessionStore(session, { sessions });
    const sid = store.genid();
    await call((cb) => store.set(sid, { cookie: { maxAge: 86_400_000 }, userId: 'u1', n: 1 }, cb));
    await sessions.update(sid, (d) => ({ ...d, n: 'elsewhere' }));
    clock.advance(60_001);
    calls.length = 0;
    await call((cb) => store.set(sid, { cookie: { maxAge: 86_400_000 }, userId: 'u1', n: 'mine' }, cb));
    // The remembered version 1 has expired: one read and one update, no conflict.
    expect(calls).toEqual(['get', 'update']);
    expect((await sessions.get(sid))?.data).toMatchObject({ n: 'mine' });
  });
});

describe('expressSessionStore: the TTL follows the cookie of each save and touch', () => {
  const hour = 3_600_000;
  const setup = () => {
    const clock = fakeClock(Date.parse('2030-01-01T00:00:00Z'));
    const adapter = new MemorySessionAdapter({ clock });
    const sessions = new SessionStore<Record<string, unknown>>({ adapter, clock });
    const store = expressSessionStore(session, { sessions });
    const ttlOf = async (sid: string) => (await adapter.get(sid))?.ttlMs;
    return { clock, store, ttlOf };
  };

  it('a save with a longer maxAge keeps the session past the first one ("remember me")', async () => {
    const { clock, store, ttlOf } = setup();
    const sid = store.genid();
    await call((cb) =>
      store.set(sid, { cookie: { originalMaxAge: 2_000, maxAge: 2_000 }, userId: 'u1' }, cb),
    );
    const loaded = await call<Record<string, unknown> | null>((cb) => store.get(sid, cb));
    await call((cb) =>
      store.set(sid, { ...loaded, cookie: { originalMaxAge: hour, maxAge: hour }, n: 2 }, cb),
    );
    expect(await ttlOf(sid)).toBe(hour);
    clock.advance(2_200);
    expect(await call((cb) => store.get(sid, cb))).toMatchObject({ userId: 'u1', n: 2 });
  });

  it('a save with a shorter maxAge lets it expire by that one', async () => {
    const { clock, store, ttlOf } = setup();
    const sid = store.genid();
    await call((cb) => store.set(sid, { cookie: { originalMaxAge: hour, maxAge: hour }, userId: 'u2' }, cb));
    const loaded = await call<Record<string, unknown> | null>((cb) => store.get(sid, cb));
    await call((cb) => store.set(sid, { ...loaded, cookie: { originalMaxAge: 2_000, maxAge: 2_000 } }, cb));
    expect(await ttlOf(sid)).toBe(2_000);
    clock.advance(2_001);
    expect(await call((cb) => store.get(sid, cb))).toBeNull();
  });

  it('touch applies the cookie it is given: its maxAge, else its expires; none keeps the stored TTL', async () => {
    const { clock, store, ttlOf } = setup();
    const sid = store.genid();
    await call((cb) =>
      store.set(sid, { cookie: { originalMaxAge: 2_000, maxAge: 2_000 }, userId: 'u3' }, cb),
    );
    await call((cb) => store.touch(sid, { cookie: { originalMaxAge: hour, maxAge: hour } }, cb));
    expect(await ttlOf(sid)).toBe(hour);
    clock.advance(2_200);
    expect(await call((cb) => store.get(sid, cb))).toMatchObject({ userId: 'u3' });
    // A cookie as JSON has no maxAge: the time left to expires counts.
    const expires = new Date(clock.now() + 600_000).toISOString();
    await call((cb) => store.touch(sid, { cookie: { originalMaxAge: hour, expires } }, cb));
    expect(await ttlOf(sid)).toBe(600_000);
    await call((cb) => store.touch(sid, {}, cb));
    expect(await ttlOf(sid)).toBe(600_000);
    await call((cb) => store.touch(sid, { cookie: { originalMaxAge: 2_000, maxAge: 2_000 } }, cb));
    clock.advance(2_001);
    expect(await call((cb) => store.get(sid, cb))).toBeNull();
  });
});
