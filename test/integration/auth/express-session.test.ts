import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import session from 'express-session';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisSessionAdapter } from '../../../src/adapters/redis/session.js';
import { expressSessionStore } from '../../../src/session/express-session-store.js';
import { SessionStore } from '../../../src/session/session-store.js';
import { deleteKeysWithPrefix, uniquePrefix } from '../../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';

declare module 'express-session' {
  interface SessionData {
    userId: string;
    visits: number;
  }
}

describe('express-session Store backed by SessionStore on real Redis', () => {
  let redis: RedisServer;
  let server: Server;
  let base: string;
  let sessions: SessionStore<unknown>;
  const prefix = uniquePrefix('express-session');
  const adapterCalls: string[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
    const adapter = new RedisSessionAdapter({ connection: redis.client(), prefix });
    // Records every adapter call, to count what a request costs.
    const counted = new Proxy(adapter, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver);
        if (typeof value !== 'function' || typeof name !== 'string') return value;
        return (...args: unknown[]) => {
          adapterCalls.push(name);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    sessions = new SessionStore({ adapter: counted });
    const store = expressSessionStore(session, { sessions });
    const app = express();
    app.use(
      session({
        store,
        genid: store.genid,
        secret: 'cookie-secret',
        resave: false,
        saveUninitialized: false,
        cookie: { maxAge: 60_000, httpOnly: true },
      }),
    );
    app.post('/login/:user', (req, res, next) => {
      // Rotate the id at login (session fixation), then record the owner.
      req.session.regenerate((err) => {
        if (err) return next(err);
        req.session.userId = req.params.user;
        req.session.visits = 0;
        res.json({ ok: true });
      });
    });
    app.get('/visit', (req, res) => {
      if (!req.session.userId) {
        res.status(401).json({ error: 'login' });
        return;
      }
      req.session.visits = (req.session.visits ?? 0) + 1;
      res.json({ user: req.session.userId, visits: req.session.visits });
    });
    app.get('/peek', (req, res) => {
      res.json({ user: req.session.userId });
    });
    app.post('/logout', (req, res, next) => {
      req.session.destroy((err) => (err ? next(err) : res.json({ ok: true })));
    });
    server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.close();
    await sessions.close();
    const admin = redis.client();
    await deleteKeysWithPrefix(admin, prefix);
    await redis.stop();
  });

  const until = async (done: () => boolean) => {
    for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 5));
  };
  const cookieOf = (res: Response) => res.headers.get('set-cookie')?.split(';')[0] ?? '';

  it('logs in, keeps state across requests, logs out, and destroyAllForUser ends every device', async () => {
    // express-session sends all but the last byte of a body before its save
    // completes: read the whole body before using the session elsewhere.
    const login = await fetch(`${base}/login/alice`, { method: 'POST' });
    await login.text();
    const cookie = cookieOf(login);
    expect(cookie).toMatch(/^connect\.sid=s%3A[A-Za-z0-9_-]{43}\./);
    for (let i = 1; i <= 3; i++) {
      const r = await fetch(`${base}/visit`, { headers: { cookie } });
      expect(await r.json()).toEqual({ user: 'alice', visits: i });
    }
    // The session lives in Redis under the SessionStore adapter, with its TTL from cookie.maxAge.
    const sid = decodeURIComponent(cookie.split('=')[1]!).slice(2, 45);
    const record = await sessions.get(sid);
    expect(record?.userId).toBe('alice');
    const admin = redis.client();
    const pttl = await admin.pttl(`${prefix}s:${sid}`);
    expect(pttl).toBeGreaterThan(30_000);
    expect(pttl).toBeLessThanOrEqual(60_000);

    const logout = await fetch(`${base}/logout`, { method: 'POST', headers: { cookie } });
    expect(logout.status).toBe(200);
    expect((await fetch(`${base}/visit`, { headers: { cookie } })).status).toBe(401);

    const devices = await Promise.all(
      [1, 2, 3].map(async () => {
        const r = await fetch(`${base}/login/bob`, { method: 'POST' });
        await r.text();
        return cookieOf(r);
      }),
    );
    for (const c of devices)
      expect((await fetch(`${base}/visit`, { headers: { cookie: c } })).status).toBe(200);
    expect(await sessions.destroyAllForUser('bob')).toBe(3);
    for (const c of devices)
      expect((await fetch(`${base}/visit`, { headers: { cookie: c } })).status).toBe(401);
  });

  it('a save that lands after destroyAllForUser does not bring the session back', async () => {
    const store = expressSessionStore(session, { sessions });
    const call = <T>(fn: (cb: (err: unknown, value?: T) => void) => void) =>
      new Promise<T | undefined>((resolve, reject) =>
        fn((err, value) => (err ? reject(err) : resolve(value))),
      );
    const sid = store.genid();
    const data = { cookie: { maxAge: 60_000 }, userId: 'carol', visits: 1 };
    await call((cb) => store.set(sid, data, cb));
    const loaded = await call<Record<string, unknown> | null>((cb) => store.get(sid, cb as never));
    expect(loaded).toMatchObject({ userId: 'carol', visits: 1 });
    // A request loaded the session, the user is logged out everywhere, then the request saves.
    expect(await sessions.destroyAllForUser('carol')).toBe(1);
    await call((cb) => store.set(sid, { ...loaded, visits: 2 }, cb));
    expect(await call((cb) => store.get(sid, cb as never))).toBeNull();
    expect(await sessions.get(sid)).toBeUndefined();
  });

  it('a request costs one read and one write: touch when unchanged, update when changed (no read before the write)', async () => {
    const login = await fetch(`${base}/login/erin`, { method: 'POST' });
    await login.text();
    const cookie = cookieOf(login);
    adapterCalls.length = 0;
    const visit = await fetch(`${base}/visit`, { headers: { cookie } });
    expect(await visit.json()).toEqual({ user: 'erin', visits: 1 });
    await until(() => adapterCalls.length >= 2);
    expect(adapterCalls).toEqual(['get', 'update']);
    adapterCalls.length = 0;
    const peek = await fetch(`${base}/peek`, { headers: { cookie } });
    expect(await peek.json()).toEqual({ user: 'erin' });
    await until(() => adapterCalls.length >= 2);
    expect(adapterCalls).toEqual(['get', 'touch']);
  });

  it('the Redis TTL follows the cookie of each save and touch, longer or shorter', async () => {
    const store = expressSessionStore(session, { sessions });
    const raw = redis.client();
    const pttl = (sid: string) => raw.pttl(`${prefix}s:${sid}`);
    const call = (fn: (cb: (err?: unknown) => void) => void) =>
      new Promise<void>((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));
    const loaded = (sid: string) =>
      new Promise<Record<string, unknown>>((resolve, reject) =>
        store.get(sid, (err, value) => (err ? reject(err) : resolve(value as Record<string, unknown>))),
      );
    const hour = 3_600_000;

    const sid = store.genid();
    await call((cb) =>
      store.set(sid, { cookie: { originalMaxAge: 2_000, maxAge: 2_000 }, userId: 'u1' }, cb),
    );
    expect(await pttl(sid)).toBeLessThanOrEqual(2_000);
    const first = await loaded(sid);
    await call((cb) => store.set(sid, { ...first, cookie: { originalMaxAge: hour, maxAge: hour } }, cb));
    expect(await pttl(sid)).toBeGreaterThan(hour - 60_000);
    await call((cb) => store.touch(sid, { cookie: { originalMaxAge: 5_000, maxAge: 5_000 } }, cb));
    expect(await pttl(sid)).toBeLessThanOrEqual(5_000);
    await call((cb) => store.touch(sid, { cookie: { originalMaxAge: hour, maxAge: hour } }, cb));
    expect(await pttl(sid)).toBeGreaterThan(hour - 60_000);

    const other = store.genid();
    await call((cb) =>
      store.set(other, { cookie: { originalMaxAge: hour, maxAge: hour }, userId: 'u2' }, cb),
    );
    const second = await loaded(other);
    await call((cb) => store.set(other, { ...second, cookie: { originalMaxAge: 2_000, maxAge: 2_000 } }, cb));
    expect(await pttl(other)).toBeLessThanOrEqual(2_000);
    expect(await pttl(other)).toBeGreaterThan(0);
  });

  it('treats a foreign or tampered sid as no session', async () => {
    const r = await fetch(`${base}/visit`, { headers: { cookie: 'connect.sid=s%3Aabc.def' } });
    expect(r.status).toBe(401);
  });
});
