import { describe, expect, it } from 'vitest';
import { createAuthorizer } from '../../../src/auth/authorizer.js';
import { createJwt } from '../../../src/auth/jwt.js';
import type { Session, SessionReader } from '../../../src/contracts/session-reader.js';
import { InvalidOptionsError } from '../../../src/errors.js';
import { SessionStore } from '../../../src/session/session-store.js';

const jwt = createJwt({ secret: 'z'.repeat(32) });

describe('Authorizer core', () => {
  it('validates its options', () => {
    expect(() => createAuthorizer({})).toThrow(InvalidOptionsError);
    expect(() => createAuthorizer({ jwt, sessionCookie: 'bad name;' })).toThrow(InvalidOptionsError);
    // Not a string: a symbol used to throw a raw TypeError, a number or an object was coerced.
    for (const sessionCookie of [Symbol('s'), 123, { toString: () => 'sid' }, { toString: 0 }]) {
      expect(() => createAuthorizer({ jwt, sessionCookie: sessionCookie as never })).toThrow(
        InvalidOptionsError,
      );
    }
    expect(() => createAuthorizer({ jwt, role: [] })).toThrow(InvalidOptionsError);
    expect(() => createAuthorizer({ jwt, bindTokensToSessions: true })).toThrow(InvalidOptionsError);
  });

  it('answers garbage Authorization headers with a typed 401, never throwing', async () => {
    const auth = createAuthorizer({ jwt });
    const garbage = [
      '',
      ' ',
      'Bearer',
      'Bearer  ',
      'Bearer a.b',
      'Bearer a.b.c',
      'Bearer x'.repeat(20_000),
      'Basic Zm9vOmJhcg==',
      'Bearer \u0000\u0001',
      'Bearer ../../etc/passwd',
      "Bearer ' OR 1=1 --",
      'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
    ];
    for (const authorization of garbage) {
      const d = await auth.decide({ headers: { authorization } });
      expect(d.ok).toBe(false);
      if (!d.ok) {
        expect(d.status).toBe(401);
        expect(d.headers['www-authenticate']).toMatch(/^Bearer realm="api", error="invalid_(request|token)"/);
        expect(d.headers['www-authenticate']).not.toMatch(/[^\x20-\x7e]/);
      }
    }
    const list = await auth.decide({ headers: { authorization: ['Bearer a', 'Bearer b'] } });
    expect(list.ok).toBe(false);
  });

  it('applies role and predicate checks, 403 with insufficient_scope', async () => {
    const token = await jwt.sign({ sub: 'u', roles: ['reader'], tenant: 't1' });
    const headers = { authorization: `Bearer ${token}` };
    const base = createAuthorizer({ jwt });
    expect((await base.decide({ headers })).ok).toBe(true);
    expect((await base.require({ role: ['writer', 'reader'] }).decide({ headers })).ok).toBe(true);
    const denied = await base.require({ role: 'admin' }).decide({ headers });
    expect(denied).toMatchObject({ ok: false, status: 403, body: { error: 'insufficient_scope' } });
    const tenant = base.require({ check: (claims) => claims.tenant === 't2' });
    expect((await tenant.decide({ headers })).ok).toBe(false);
  });

  it('reads the session cookie among others and refuses unknown ids', async () => {
    const sessions = new SessionStore<{ role: string }>();
    const s = await sessions.create({ role: 'admin' }, { userId: 'u9' });
    const auth = createAuthorizer({ sessions, role: 'admin' });
    const ok = await auth.decide({ headers: { cookie: `a=1; sid=${s.id}; b="2"` } });
    expect(ok.ok && ok.auth.claims).toMatchObject({ sub: 'u9', role: 'admin', sid: s.id });
    for (const cookie of ['sid=', 'sid=%E0%A4%A', `sid=${s.id}x`, 'xsid=1', 'sid=*']) {
      const d = await auth.decide({ headers: { cookie } });
      expect(d.ok).toBe(false);
    }
    expect((await auth.decide({ headers: {} })).ok).toBe(false);
  });

  it('takes any SessionReader, not only a SessionStore: touch by default, get with touchSession: false', async () => {
    const stored: Session<{ role: string }> = {
      id: 'a'.repeat(43),
      data: { role: 'admin' },
      version: 1,
      userId: 'u7',
      ttlMs: 60_000,
    };
    const calls: string[] = [];
    const reader: SessionReader<{ role: string }> = {
      get: async (id) => {
        calls.push('get');
        return id === stored.id ? stored : undefined;
      },
      touch: async (id) => {
        calls.push('touch');
        return id === stored.id ? stored : undefined;
      },
    };
    const headers = { cookie: `sid=${stored.id}` };
    const touching = await createAuthorizer({ sessions: reader, role: 'admin' }).decide({ headers });
    expect(touching.ok && touching.auth.claims).toMatchObject({ sub: 'u7', role: 'admin', sid: stored.id });
    const reading = await createAuthorizer({ sessions: reader, touchSession: false }).decide({ headers });
    expect(reading.ok).toBe(true);
    expect(calls).toEqual(['touch', 'get']);
    expect(() => createAuthorizer({ sessions: { get: reader.get } as never })).toThrow(InvalidOptionsError);
  });
});
