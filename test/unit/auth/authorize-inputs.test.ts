/**
 * authorize refuses wrong calls loudly (unknown option keys, the design's
 * authorize(requiredRole)) and answers an unreadable session with a 401.
 */
import { describe, expect, it } from 'vitest';
import { MemorySessionAdapter } from '../../../src/adapters/memory/memory-session-adapter.js';
import { authorize as expressAuthorize } from '../../../src/auth/authorize-express.js';
import { authorize as fastifyAuthorize } from '../../../src/auth/authorize-fastify.js';
import { authorize as koaAuthorize } from '../../../src/auth/authorize-koa.js';
import { authorizeNode } from '../../../src/auth/authorize-node.js';
import { createAuthorizer } from '../../../src/auth/authorizer.js';
import { createJwt } from '../../../src/auth/jwt.js';
import type { SessionRecord } from '../../../src/contracts/session.js';
import { isScaleoutError } from '../../../src/errors.js';
import { SessionStore } from '../../../src/session/session-store.js';

const jwt = createJwt({ secret: 'z'.repeat(32) });

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

const FRAMEWORKS = [
  ['createAuthorizer', createAuthorizer],
  ['express', expressAuthorize],
  ['fastify', fastifyAuthorize],
  ['koa', koaAuthorize],
  ['node', authorizeNode],
] as const;

describe('authorize options', () => {
  it.each(FRAMEWORKS)('%s refuses unknown keys, naming the option meant', (_name, make) => {
    const err = caught(() => make({ jwt, requiredRole: 'admin' } as never));
    expect(isScaleoutError(err, 'ERR_INVALID_OPTIONS')).toBe(true);
    expect(err).toMatchObject({ option: 'requiredRole', suggestion: 'role' });
    expect(caught(() => make({ jwt, rol: 'admin' } as never))).toMatchObject({ suggestion: 'role' });
    expect(caught(() => make({ jwt, sessionCookei: 'sid' } as never))).toMatchObject({
      suggestion: 'sessionCookie',
    });
  });

  it.each(FRAMEWORKS)(
    "%s: the design's authorize('admin') fails with the fix in the message",
    (_name, make) => {
      const err = caught(() => make('admin' as never));
      expect(isScaleoutError(err, 'ERR_INVALID_OPTIONS')).toBe(true);
      expect(String((err as Error).message)).toContain("authorize({ jwt, role: 'admin' })");
      expect(
        isScaleoutError(
          caught(() => make(undefined as never)),
          'ERR_INVALID_OPTIONS',
        ),
      ).toBe(true);
      expect(
        isScaleoutError(
          caught(() => make(42 as never)),
          'ERR_INVALID_OPTIONS',
        ),
      ).toBe(true);
    },
  );

  it('refuses option values of the wrong kind at construction, not at the first request', () => {
    for (const options of [
      { jwt: 'secret' },
      { jwt: {} },
      { sessions: new Map() },
      { jwt, getRoles: 'roles' },
      { jwt, check: true },
      { jwt, touchSession: 'yes' },
      { jwt, realm: 1 },
    ]) {
      expect(
        isScaleoutError(
          caught(() => createAuthorizer(options as never)),
          'ERR_INVALID_OPTIONS',
        ),
      ).toBe(true);
    }
  });

  it('require() refuses unknown keys and a bare role', () => {
    const auth = createAuthorizer({ jwt });
    expect(caught(() => auth.require({ roles: ['a'] } as never))).toMatchObject({
      code: 'ERR_INVALID_OPTIONS',
      suggestion: 'role',
    });
    expect(caught(() => auth.require('admin' as never))).toMatchObject({ code: 'ERR_INVALID_OPTIONS' });
    expect(caught(() => auth.require(undefined as never))).toMatchObject({ code: 'ERR_INVALID_OPTIONS' });
  });
});

describe('decide', () => {
  it('a request without headers is a typed error, not a TypeError', async () => {
    const auth = createAuthorizer({ jwt });
    for (const request of [undefined, null, {}, { headers: null }, { headers: 'x' }]) {
      await expect(auth.decide(request as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    }
  });

  it('repeated Authorization headers and non-text values are malformed (401), never the first one taken', async () => {
    const token = await jwt.sign({ sub: 'u' });
    const auth = createAuthorizer({ jwt });
    for (const authorization of [
      [`Bearer ${token}`, `Bearer ${token}`],
      [`Bearer ${token}`, 'Bearer forged.token.here'],
      [],
      [5],
      {
        length: 1,
        toString: () => {
          throw new Error('boom');
        },
      },
      42,
    ]) {
      const decision = await auth.decide({ headers: { authorization } as never });
      expect(decision).toMatchObject({ ok: false, status: 401, body: { error: 'invalid_request' } });
    }
    expect((await auth.decide({ headers: { authorization: [`Bearer ${token}`] } })).ok).toBe(true);
  });

  it('getRoles returning something other than a list is a typed error', async () => {
    const token = await jwt.sign({ sub: 'u' });
    const auth = createAuthorizer({ jwt, role: 'admin', getRoles: () => 'admin' as never });
    await expect(auth.decide({ headers: { authorization: `Bearer ${token}` } })).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTIONS',
      option: 'getRoles',
    });
  });

  it('a session whose stored record is unreadable is a 401 with its code, not a 500, and stays stored', async () => {
    const adapter = new MemorySessionAdapter();
    const sessions = new SessionStore({ adapter });
    const good = await sessions.create({ role: 'admin' }, { userId: 'u1' });
    const junk = await sessions.create({ role: 'admin' }, { userId: 'u2' });
    // Damage one record in place (what a foreign writer does to a Redis hash).
    const original = adapter.touch.bind(adapter);
    adapter.touch = async (id: string): Promise<SessionRecord | undefined> => {
      const record = await original(id);
      return id === junk.id && record !== undefined ? { ...record, data: '{"role":' } : record;
    };
    const auth = createAuthorizer({ sessions, role: 'admin' });
    const denied = await auth.decide({ headers: { cookie: `sid=${junk.id}` } });
    expect(denied).toMatchObject({ ok: false, status: 401, code: 'ERR_DESERIALIZE' });
    expect((await auth.decide({ headers: { cookie: `sid=${good.id}` } })).ok).toBe(true);
    expect(await adapter.get(junk.id)).toBeDefined();
  });
});
