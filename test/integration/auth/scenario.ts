/**
 * One login → token → authorized-call scenario, run against a real server
 * of each framework (Express, Fastify, Koa, node:http) on loopback, with
 * sessions and the jti denylist in a real redis-server.
 *
 * Routes every app implements:
 *   POST /login?user=&role=     creates a session, returns { token, sid } and sets the sid cookie
 *   GET  /me                    any authenticated caller → { sub, source }
 *   GET  /admin                 role admin → { ok: true }
 *   POST /logout-everywhere     destroys every session of the caller and revokes the token used
 */
import { expect } from 'vitest';
import { RedisJwtDenylist } from '../../../src/adapters/redis/jwt-denylist.js';
import { RedisSessionAdapter } from '../../../src/adapters/redis/session.js';
import { type AuthContext, type Authorizer, createAuthorizer } from '../../../src/auth/authorizer.js';
import { createJwt, type Jwt } from '../../../src/auth/jwt.js';
import { SessionStore } from '../../../src/session/session-store.js';
import type { RedisServer } from '../../helpers/redis-server.js';

export interface AuthFixture {
  jwt: Jwt;
  sessions: SessionStore<{ role: string }>;
  auth: Authorizer;
  admin: Authorizer;
  login(user: string, role: string): Promise<{ token: string; sid: string }>;
  logoutEverywhere(ctx: AuthContext): Promise<number>;
  close(): Promise<void>;
}

export function authFixture(server: RedisServer, prefix: string): AuthFixture {
  const denylist = new RedisJwtDenylist({ connection: server.client(), prefix: `${prefix}deny:` });
  const jwt = createJwt({ secret: 's'.repeat(32), issuer: 'test-issuer', audience: 'test-api', denylist });
  const sessions = new SessionStore<{ role: string }>({
    adapter: new RedisSessionAdapter({ connection: server.client(), prefix: `${prefix}sess:` }),
  });
  const auth = createAuthorizer({ jwt, sessions, bindTokensToSessions: true });
  return {
    jwt,
    sessions,
    auth,
    admin: auth.require({ role: 'admin' }),
    async login(user, role) {
      const session = await sessions.create({ role }, { userId: user });
      const token = await jwt.sign({ sub: user, role, sid: session.id });
      return { token, sid: session.id };
    },
    async logoutEverywhere(ctx) {
      const n = await sessions.destroyAllForUser(String(ctx.claims.sub));
      if (ctx.token !== undefined) await jwt.revoke(ctx.token);
      return n;
    },
    async close() {
      await jwt.close();
      await sessions.close();
      await denylist.close();
    },
  };
}

async function call(
  base: string,
  path: string,
  init: { method?: string; token?: string; cookie?: string; authorization?: string } = {},
): Promise<{ status: number; body: any; challenge: string | null; setCookie: string | null }> {
  const headers: Record<string, string> = {};
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  if (init.authorization !== undefined) headers.authorization = init.authorization;
  if (init.cookie !== undefined) headers.cookie = init.cookie;
  const res = await fetch(`${base}${path}`, { method: init.method ?? 'GET', headers });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return {
    status: res.status,
    body,
    challenge: res.headers.get('www-authenticate'),
    setCookie: res.headers.get('set-cookie'),
  };
}

export async function runAuthScenario(base: string, fixture: AuthFixture): Promise<void> {
  // No credentials: 401 with a bare challenge.
  const anonymous = await call(base, '/me');
  expect(anonymous.status).toBe(401);
  expect(anonymous.challenge).toBe('Bearer realm="api"');

  // Garbage Authorization headers: 401, never a crash, never an echo.
  const garbage = [
    'Basic dXNlcjpwYXNz',
    'Bearer',
    'Bearer a b',
    'Bearer !!!',
    'bearer x.y',
    `Bearer ${'A'.repeat(9000)}`,
    'Token abc',
    'Bearer \t',
  ];
  for (const authorization of garbage) {
    const r = await call(base, '/me', { authorization });
    expect(r.status, authorization.slice(0, 20)).toBe(401);
    expect(r.challenge).toMatch(/^Bearer realm="api", error="invalid_(request|token)"/);
    expect(JSON.stringify(r.body)).not.toContain('AAAAAAAA');
  }

  // Login → token → authorized call, by bearer and by cookie.
  const login = await call(base, '/login?user=alice&role=user', { method: 'POST' });
  expect(login.status).toBe(200);
  const { token, sid } = login.body as { token: string; sid: string };
  expect(login.setCookie).toContain(`sid=${sid}`);
  expect(login.setCookie?.toLowerCase()).toContain('httponly');
  expect((await call(base, '/me', { token })).body).toEqual({ sub: 'alice', source: 'bearer' });
  expect((await call(base, '/me', { cookie: `theme=dark; sid=${sid}` })).body).toEqual({
    sub: 'alice',
    source: 'session',
  });

  // Wrong role: 403 insufficient_scope; right role: 200.
  const forbidden = await call(base, '/admin', { token });
  expect(forbidden.status).toBe(403);
  expect(forbidden.challenge).toContain('error="insufficient_scope"');
  const forbiddenCookie = await call(base, '/admin', { cookie: `sid=${sid}` });
  expect(forbiddenCookie.status).toBe(403);
  const bob = (await call(base, '/login?user=bob&role=admin', { method: 'POST' })).body as {
    token: string;
    sid: string;
  };
  expect((await call(base, '/admin', { token: bob.token })).body).toEqual({ ok: true });

  // Bad tokens: forged, expired, wrong audience, unknown session cookie.
  const [h, p] = token.split('.');
  const forged = await call(base, '/me', { token: `${h}.${p}.${'A'.repeat(43)}` });
  expect(forged.status).toBe(401);
  expect(forged.challenge).toContain('error="invalid_token"');
  const other = createJwt({ secret: 's'.repeat(32), issuer: 'test-issuer', audience: 'other-api' });
  expect((await call(base, '/me', { token: await other.sign({ sub: 'alice', sid }) })).status).toBe(401);
  expect((await call(base, '/me', { cookie: `sid=${'x'.repeat(43)}` })).status).toBe(401);
  expect((await call(base, '/me', { cookie: 'sid=../../etc/passwd' })).status).toBe(401);

  // Logout everywhere: alice on a second device too.
  const second = (await call(base, '/login?user=alice&role=user', { method: 'POST' })).body as {
    token: string;
    sid: string;
  };
  expect((await call(base, '/me', { token: second.token })).status).toBe(200);
  const out = await call(base, '/logout-everywhere', { method: 'POST', token });
  expect(out.body).toEqual({ destroyed: 2 });
  for (const attempt of [
    { token },
    { token: second.token },
    { cookie: `sid=${sid}` },
    { cookie: `sid=${second.sid}` },
  ]) {
    const r = await call(base, '/me', attempt);
    expect(r.status).toBe(401);
  }
  // The used token is on the denylist as well (revocation, not only the session).
  await expect(fixture.jwt.verify(token)).rejects.toMatchObject({ code: 'ERR_JWT_REVOKED' });
  // Bob is untouched.
  expect((await call(base, '/me', { token: bob.token })).status).toBe(200);
}
