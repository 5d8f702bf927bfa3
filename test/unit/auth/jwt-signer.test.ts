/** Signing: claims JSON cannot write faithfully are refused; the payload is written without a merged object. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createJwt } from '../../../src/auth/jwt.js';
import { isScaleoutError } from '../../../src/errors.js';

const secret = randomBytes(32);

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('sign: claims JSON cannot write faithfully are refused with a typed error', () => {
  const jwt = createJwt({ secret: randomBytes(32) });

  it('circular claims are SerializationError, not a raw TypeError', async () => {
    const claims: Record<string, unknown> = { sub: 'u' };
    claims.self = claims;
    const err = caught(() => jwt.signSync(claims));
    expect(isScaleoutError(err, 'ERR_SERIALIZE')).toBe(true);
    await expect(jwt.sign(claims)).rejects.toMatchObject({ code: 'ERR_SERIALIZE' });
  });

  it('BigInt, functions, symbols, NaN/Infinity, Date/Map/Set/class instances, deep nesting', () => {
    class User {
      id = 1;
    }
    let deep: unknown = 'leaf';
    for (let i = 0; i < 200_000; i++) deep = [deep];
    const cases: Array<[string, Record<string, unknown>]> = [
      ['BigInt', { n: 10n }],
      ['function', { fn: () => 1 }],
      ['symbol value', { s: Symbol('x') }],
      ['symbol key', { [Symbol('k')]: 1 }],
      ['NaN', { n: Number.NaN }],
      ['Infinity', { n: Number.POSITIVE_INFINITY }],
      ['nested -Infinity', { a: { b: [Number.NEGATIVE_INFINITY] } }],
      ['undefined in an array', { list: [1, undefined] }],
      ['Date', { when: new Date() }],
      ['Map', { m: new Map([[1, 2]]) }],
      ['Set', { s: new Set([1]) }],
      ['class instance', { user: new User() }],
      ['deep nesting', { deep }],
    ];
    for (const [name, claims] of cases) {
      const err = caught(() => jwt.signSync(claims));
      expect(isScaleoutError(err, 'ERR_SERIALIZE'), name).toBe(true);
    }
  });

  it('non-object claims, class instances as claims, pollution keys, bad registered claims, huge claims', () => {
    class Entity {
      sub = 'u';
    }
    for (const claims of ['x', 1, [1], null, new Entity(), new Map()]) {
      expect(
        isScaleoutError(
          caught(() => jwt.signSync(claims as never)),
          'ERR_INVALID_ARGUMENT',
        ),
      ).toBe(true);
    }
    const polluted = JSON.parse('{"a":{"__proto__":{"admin":true}}}');
    expect(
      isScaleoutError(
        caught(() => jwt.signSync(polluted)),
        'ERR_UNSAFE_PAYLOAD',
      ),
    ).toBe(true);
    for (const claims of [{ sub: {} }, { sub: 1.5 }, { iss: 1 }, { aud: [] }, { jti: '' }, { nbf: 'x' }]) {
      expect(
        isScaleoutError(
          caught(() => jwt.signSync(claims as never)),
          'ERR_INVALID_ARGUMENT',
        ),
      ).toBe(true);
    }
    const huge = caught(() => jwt.signSync({ blob: 'x'.repeat(20_000) }));
    expect(isScaleoutError(huge, 'ERR_PAYLOAD_TOO_LARGE')).toBe(true);
    expect((huge as { maxBytes: number }).maxBytes).toBe(8192);
  });

  it('an undefined claim is absent (as in JSON); a numeric sub stays a number', async () => {
    const token = await jwt.sign({ sub: 42, name: undefined });
    const claims = await jwt.verify(token);
    expect(claims.sub).toBe(42);
    expect('name' in claims).toBe(false);
  });
});

describe('sign: the payload written without building a merged object', () => {
  const now = () => 1_800_000_000_123;
  const payloadOf = (token: string) => Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8');

  it('writes the claims, then iat, exp, nbf, iss, aud, jti: what JSON.stringify of the spread object wrote', () => {
    const jwt = createJwt({ secret, now, issuer: ['iss-1', 'iss-2'], audience: 'a"ud\u2028' });
    const cases: Array<[Record<string, unknown>, { expiresInMs?: number; notBeforeMs?: number }]> = [
      [{}, {}],
      [{ sub: 'u1', role: 'admin', tenant: 't-42' }, {}],
      [{ sub: 7, nested: { list: [1, 'two', null] }, gone: undefined, ключ: 'значение 🔑' }, {}],
      [{ iss: 'mine', aud: ['x', 'y'], jti: 'given' }, { expiresInMs: 60_000 }],
      [{ iss: undefined, jti: undefined }, {}],
      [{ nbf: 1 }, {}],
      [{ nbf: 1, sub: 'u' }, { notBeforeMs: 5_000 }],
      [{ sub: 'u' }, { notBeforeMs: 0 }],
    ];
    for (const [claims, options] of cases) {
      const text = payloadOf(jwt.signSync(claims, options));
      const written = JSON.parse(text) as Record<string, unknown>;
      const nowMs = now();
      const expected: Record<string, unknown> = {
        ...claims,
        iat: Math.floor(nowMs / 1000),
        exp: Math.floor((nowMs + (options.expiresInMs ?? 900_000)) / 1000),
      };
      if (options.notBeforeMs !== undefined) expected.nbf = Math.floor((nowMs + options.notBeforeMs) / 1000);
      if (expected.iss === undefined) expected.iss = 'iss-1';
      if (expected.aud === undefined) expected.aud = 'a"ud\u2028';
      if (expected.jti === undefined) expected.jti = written.jti;
      expect(written).toEqual(JSON.parse(JSON.stringify(expected)));
      // Same text too, except that a claim given as undefined, or an nbf that
      // notBeforeMs replaces, no longer holds its place among the claims.
      const moved =
        Object.values(claims).includes(undefined) ||
        (claims.nbf !== undefined && options.notBeforeMs !== undefined);
      if (!moved) expect(text).toBe(JSON.stringify(expected));
      if (claims.iss === undefined && claims.aud === undefined) {
        expect(jwt.verifySync(jwt.signSync(claims, options))).toMatchObject({ iat: expected.iat });
      }
    }
  });

  it('a clock that answers NaN writes null, as JSON would', () => {
    const jwt = createJwt({ secret, now: () => Number.NaN });
    const text = payloadOf(jwt.signSync({ sub: 'u' }));
    expect(JSON.parse(text)).toMatchObject({ iat: null, exp: null });
  });
});
