/**
 * The design's code (../shared/seed: "Stateless Design for Horizontal
 * Scaling"): UserSessionService, RedisSessionService, generateJWT, the
 * authorize middleware and the two /login handlers, changed only as
 * docs/sessions.md and docs/jwt.md ("From the design's code") say, run on
 * real Express servers and a real redis-server on loopback.
 *
 * The changes, all in imports and construction except two:
 * - the session services keep a SessionStore (one per process, Redis
 *   behind it) instead of a Map or a raw Redis client; their three methods
 *   call it (so UserSessionService's become async, like RedisSessionService's);
 * - the first /login awaits createSession (sessions live in a shared store);
 * - generateJWT signs with a Jwt made once from the secret and the
 *   lifetime (`signSync`, so it stays synchronous and /login is unchanged);
 * - authorize(requiredRole) is scaleout's authorize({ jwt, role }).
 * What behaves differently is listed in the guides and checked below.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import jsonwebtoken from 'jsonwebtoken';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
// The imports and the construction are the changes to the design's code.
import { authorize as scaleoutAuthorize } from '../../../src/express.js';
import { createJwt, isScaleoutError, SessionStore } from '../../../src/index.js';
import { redisSessionAdapter } from '../../../src/redis.js';
import { deleteKeysWithPrefix, uniquePrefix } from '../../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';

interface User {
  id: number;
  name: string;
  role: string;
}

// The design leaves authentication out ("Authenticate user..."): two users.
const USERS: Record<string, User & { password: string }> = {
  alice: { id: 42, name: 'Alice', role: 'admin', password: 'wonderland' },
  bob: { id: 7, name: 'Bob', role: 'user', password: 'builder' },
};
function authenticateUser(username: string, password: string): User | undefined {
  const found = USERS[username];
  if (found === undefined || found.password !== password) return undefined;
  const { password: _p, ...user } = found;
  return user;
}

let redis: RedisServer;
const prefix = uniquePrefix('design-auth');
const cleanups: Array<() => Promise<unknown> | unknown> = [];

beforeAll(async () => {
  redis = await startRedisServer();
  process.env.REDIS_URL = redis.url;
  process.env.JWT_SECRET = 'a-long-random-secret-from-the-environment-0123456789';
});
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});
afterAll(async () => {
  await deleteKeysWithPrefix(redis.client(), prefix);
  await redis.stop();
});

async function listen(app: express.Express): Promise<string> {
  const server: Server = createServer(app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve(undefined));
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const post = (url: string, body: unknown) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

// ---- docs/sessions.md, "From the design's code" -----------------------------

type SessionData = { userId: number | string; userData: unknown; createdAt: number };

/** One store per process: every instance of the service shares its sessions through Redis. */
function makeSessionStore(): SessionStore<SessionData> {
  return new SessionStore<SessionData>({
    adapter: redisSessionAdapter({ connection: process.env.REDIS_URL!, prefix }),
    ttlMs: 24 * 60 * 60 * 1000, // the design's sessionTTL (24 hours), in ms
  });
}

describe('the design’s session services and first /login, on scaleout', () => {
  it('RedisSessionService: create, get, delete as the design does, shared between processes', async () => {
    const sessions = makeSessionStore();
    cleanups.push(() => sessions.close());

    class RedisSessionService {
      sessions: SessionStore<SessionData>;
      constructor() {
        this.sessions = sessions;
      }

      async createSession(userId: number | string, userData: unknown) {
        const session = await this.sessions.create({ userId, userData, createdAt: Date.now() }, { userId });
        return session.id;
      }

      async getSession(sessionId: string) {
        const session = await this.sessions.get(sessionId);
        return session ? session.data : null;
      }

      async deleteSession(sessionId: string) {
        return (await this.sessions.destroy(sessionId)) ? 1 : 0;
      }
    }

    const service = new RedisSessionService();
    const user = authenticateUser('alice', 'wonderland')!;
    const before = Date.now();
    const sessionId = await service.createSession(user.id, user);
    expect(typeof sessionId).toBe('string');

    // Another process (its own store and connection) reads the same session.
    const otherProcess = makeSessionStore();
    cleanups.push(() => otherProcess.close());
    const read = await otherProcess.get(sessionId);
    // As the design: { userId, userData, createdAt }, the numeric id still a number.
    expect(read?.data).toEqual({ userId: 42, userData: user, createdAt: expect.any(Number) });
    expect(read!.data.createdAt).toBeGreaterThanOrEqual(before);
    expect(await service.getSession(sessionId)).toEqual(read?.data);
    // The design's SETEX 86400: the record lives 24 h.
    const pttl = await redis.client().pttl(`${prefix}s:${sessionId}`);
    expect(pttl).toBeGreaterThan(86_400_000 - 60_000);
    expect(pttl).toBeLessThanOrEqual(86_400_000);
    // Unknown ids read as null, as GET of a missing key does in the design.
    expect(await service.getSession('no-such-session')).toBeNull();
    // DEL answers 1 then 0.
    expect(await service.deleteSession(sessionId)).toBe(1);
    expect(await service.deleteSession(sessionId)).toBe(0);
    expect(await service.getSession(sessionId)).toBeNull();
    // The numeric user id is indexed (as '42'): logging alice out everywhere works with either spelling.
    const a = await service.createSession(user.id, user);
    const b = await service.createSession(user.id, user);
    expect(await sessions.destroyAllForUser(42)).toBe(2);
    expect(await service.getSession(a)).toBeNull();
    expect(await service.getSession(b)).toBeNull();
  });

  it('UserSessionService and the first /login (awaiting createSession) on a real Express server', async () => {
    const sessions = makeSessionStore();
    cleanups.push(() => sessions.close());

    class UserSessionService {
      sessions: SessionStore<SessionData>;
      constructor() {
        // The design's Map, shared by every instance (and every process) now.
        this.sessions = sessions;
      }

      async createSession(userId: number | string, userData: unknown) {
        const session = await this.sessions.create({ userId, userData, createdAt: Date.now() }, { userId });
        return session.id;
      }

      async getSession(sessionId: string) {
        return (await this.sessions.get(sessionId))?.data;
      }

      async deleteSession(sessionId: string) {
        return this.sessions.destroy(sessionId);
      }
    }

    const app = express();
    app.use(express.json());
    // Usage in API (the design's, awaiting createSession)
    app.post('/login', async (req, res) => {
      const { username, password } = req.body;

      // Authenticate user...
      const user = authenticateUser(username, password);

      if (user) {
        const sessionService = new UserSessionService();
        const sessionId = await sessionService.createSession(user.id, user);

        res.cookie('sessionId', sessionId);
        res.json({ success: true });
      } else {
        res.status(401).json({ error: 'Invalid credentials' });
      }
    });
    const base = await listen(app);

    const ok = await post(`${base}/login`, { username: 'bob', password: 'builder' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ success: true });
    const sessionId = /^sessionId=([^;]+)/.exec(ok.headers.get('set-cookie') ?? '')?.[1];
    expect(sessionId).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The design lost this session (a new Map per request); here any instance reads it.
    const service = new UserSessionService();
    expect(await service.getSession(sessionId!)).toMatchObject({ userId: 7, userData: { name: 'Bob' } });
    expect(await service.deleteSession(sessionId!)).toBe(true);
    expect(await service.getSession(sessionId!)).toBeUndefined();

    const bad = await post(`${base}/login`, { username: 'bob', password: 'wrong' });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toEqual({ error: 'Invalid credentials' });
  });
});

// ---- docs/jwt.md, "From the design's code" ----------------------------------

describe('the design’s generateJWT, second /login and authorize, on scaleout', () => {
  function designApp() {
    // Construction: the secret and the lifetime are given once.
    const jwt = createJwt({ secret: process.env.JWT_SECRET!, expiresInMs: 24 * 60 * 60 * 1000 });

    // JWT-based stateless sessions (even better for scaling)
    function generateJWT(user: User) {
      return jwt.signSync({
        sub: user.id,
        name: user.name,
        role: user.role,
        // Don't include sensitive data
      });
    }

    // Authorization middleware
    const authorize = (requiredRole?: string) => scaleoutAuthorize({ jwt, role: requiredRole });

    const app = express();
    app.use(express.json());
    // Usage in API (the design's, unchanged)
    app.post('/login', async (req, res) => {
      const { username, password } = req.body;

      // Authenticate user...
      const user = await authenticateUser(username, password);

      if (user) {
        // Completely stateless - token contains all necessary data
        const token = generateJWT(user);

        res.json({ token });
      } else {
        res.status(401).json({ error: 'Invalid credentials' });
      }
    });
    app.get('/admin', authorize('admin'), (req, res) => {
      res.json({ hello: (req as unknown as { auth: { claims: { name: string } } }).auth.claims.name });
    });
    app.get('/me', authorize(), (req, res) => {
      res.json((req as unknown as { auth: { claims: unknown } }).auth.claims);
    });
    return { app, jwt };
  }

  const login = async (base: string, username: string, password: string) =>
    ((await (await post(`${base}/login`, { username, password })).json()) as { token: string }).token;

  it('/login issues a 24-hour token with the design’s claims (a numeric sub stays a number)', async () => {
    const { app, jwt } = designApp();
    const base = await listen(app);
    const token = await login(base, 'alice', 'wonderland');
    const claims = await jwt.verify(token);
    expect(claims).toMatchObject({ sub: 42, name: 'Alice', role: 'admin' });
    expect((claims.exp as number) - (claims.iat as number)).toBe(24 * 60 * 60);
    // The design's verifier (jsonwebtoken, same secret) accepts it too.
    expect(jsonwebtoken.verify(token, process.env.JWT_SECRET!)).toMatchObject({ sub: 42, role: 'admin' });
    const bad = await post(`${base}/login`, { username: 'alice', password: 'nope' });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toEqual({ error: 'Invalid credentials' });
  });

  it('authorize: 401 without or with a bad token, 403 without the role, the claims with it', async () => {
    const { app } = designApp();
    const base = await listen(app);
    const admin = await login(base, 'alice', 'wonderland');
    const user = await login(base, 'bob', 'builder');
    const get = (path: string, authorization?: string) =>
      fetch(`${base}${path}`, authorization === undefined ? {} : { headers: { authorization } });

    // The design's statuses; the bodies follow RFC 6750 (documented difference).
    for (const [authorization, status] of [
      [undefined, 401],
      ['Basic YWxpY2U6d29uZGVybGFuZA==', 401],
      ['Bearer not.a.token', 401],
      [`Bearer ${admin.slice(0, -2)}xx`, 401],
      [`Bearer ${user}`, 403],
    ] as const) {
      const res = await get('/admin', authorization);
      expect(res.status, String(authorization)).toBe(status);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="api"/);
      expect(typeof ((await res.json()) as { error?: unknown }).error).toBe('string');
    }
    const ok = await get('/admin', `Bearer ${admin}`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ hello: 'Alice' });
    // authorize() without a role: any valid token (the design's requiredRole undefined).
    const me = await get('/me', `Bearer ${user}`);
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ sub: 7, name: 'Bob', role: 'user' });
    // A token signed by jsonwebtoken with the same secret (the design's tokens in flight) is accepted.
    const legacy = jsonwebtoken.sign({ sub: 42, name: 'Alice', role: 'admin' }, process.env.JWT_SECRET!, {
      expiresIn: '24h',
    });
    expect((await get('/admin', `Bearer ${legacy}`)).status).toBe(200);
  });

  it('calling scaleout the design’s way fails loudly, and the design’s own middleware fails closed', async () => {
    const { jwt } = designApp();
    // jwt.sign(payload, process.env.JWT_SECRET, { expiresIn: '24h' }) and createJwt({ expiresIn }).
    const sign = jwt.sign as unknown as (...args: unknown[]) => unknown;
    const err = (() => {
      try {
        sign.call(jwt, { sub: 1 }, process.env.JWT_SECRET, { expiresIn: '24h' });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toMatchObject({ code: 'ERR_INVALID_OPTIONS', suggestion: 'expiresInMs' });
    expect(() => createJwt({ secret: process.env.JWT_SECRET!, expiresIn: '24h' } as never)).toThrow(
      /expiresInMs/,
    );
    expect(() => scaleoutAuthorize('admin' as never)).toThrow(/authorize\(\{ jwt, role: 'admin' \}\)/);

    // The design's authorize kept verbatim, with only the jsonwebtoken import
    // swapped for a scaleout Jwt: verify(token, secret) throws at once, so the
    // design's catch answers 401 to every request; nobody is let through.
    function authorize(requiredRole?: string): express.RequestHandler {
      return (req, res, next) => {
        const authHeader = req.headers.authorization;

        // biome-ignore lint/complexity/useOptionalChain: the design's code, verbatim
        if (!authHeader || !authHeader.startsWith('Bearer ')) {
          return res.status(401).json({ error: 'No token provided' });
        }

        const token = authHeader.split(' ')[1];

        try {
          const decoded = (jwt.verify as unknown as (...a: unknown[]) => { role?: string })(
            token,
            process.env.JWT_SECRET,
          );

          // Check role if required
          if (requiredRole && decoded.role !== requiredRole) {
            return res.status(403).json({ error: 'Insufficient permissions' });
          }

          // Attach user info to request
          (req as unknown as { user: unknown }).user = decoded;
          next();
        } catch (_error) {
          return res.status(401).json({ error: 'Invalid token' });
        }
      };
    }
    const app = express();
    let reached = 0;
    app.get('/me', authorize(), (_req, res) => {
      reached++;
      res.json({ ok: true });
    });
    const base = await listen(app);
    const token = jwt.signSync({ sub: 42, role: 'admin' });
    const res = await fetch(`${base}/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: 'Invalid token' });
    expect(reached).toBe(0);
    expect(isScaleoutError(err)).toBe(true);
  });
});
