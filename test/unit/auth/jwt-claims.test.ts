import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { claimsAreFaithful, claimsJson, walkClaimValues } from '../../../src/auth/jwt-claims.js';
import { hostileKey, hostileValue } from '../../hostile/arbitraries.js';

/** Claims-like values: mostly JSON, with hostile values and keys mixed in at any depth. */
const claimsLike: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.jsonValue({ maxDepth: 2 }),
    hostileValue,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), hostileKey), tie('value'), { maxKeys: 4 }),
  ),
})).value;

function fullWalkPasses(value: object): boolean {
  try {
    walkClaimValues(value);
    return true;
  } catch {
    return false;
  }
}

describe('checkClaimValues: the fast walk never lets through what the full walk refuses', () => {
  it('claimsAreFaithful(x) implies the full walk passes x (random JSON and hostile values)', () => {
    fc.assert(
      fc.property(claimsLike, (value) => {
        if (typeof value !== 'object' || value === null) return;
        if (claimsAreFaithful(value)) expect(fullWalkPasses(value)).toBe(true);
      }),
      { numRuns: 3_000 },
    );
  });

  it('answers "look closer" for every refusal and for what only the full walk can judge', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    let deep: unknown = { leaf: 1 };
    for (let i = 0; i < 40; i++) deep = { next: deep };
    for (const value of [
      { n: Number.NaN },
      { n: [1, undefined] },
      { f: () => 1 },
      { b: 1n },
      { d: new Date(0) },
      { m: new Map() },
      { [Symbol('s')]: 1 },
      JSON.parse('{"__proto__":{"admin":true}}'),
      { constructor: 'a string: allowed, but judged by the full walk' },
      cyclic,
      deep as object,
    ]) {
      expect(claimsAreFaithful(value)).toBe(false);
    }
  });

  it('says yes at once to ordinary claims (the sign hot path)', () => {
    for (const value of [
      {},
      { sub: 'u1', role: 'admin', tenant: 't-42' },
      { sub: 42, roles: ['a', 'b'], nested: { deep: [{ x: null, y: true, z: 1.5 }] }, gone: undefined },
      Object.assign(Object.create(null), { sub: 'u1' }),
    ]) {
      expect(claimsAreFaithful(value)).toBe(true);
      expect(fullWalkPasses(value)).toBe(true);
    }
  });
});

describe('claimsJson: the claims with sign’s members, as JSON.stringify of the merged object', () => {
  it('matches JSON.stringify({ ...claims, ...members }) for any JSON object', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.string({ maxLength: 10 }),
        (claims, iat, jti) => {
          const extra = { iat, exp: iat + 900, jti };
          // Only members the claims lack are appended (sign's own rule).
          const rest = Object.fromEntries(Object.entries(extra).filter(([k]) => !Object.hasOwn(claims, k)));
          const members = Object.entries(rest)
            .map(([k, v]) => `,${JSON.stringify(k)}:${JSON.stringify(v)}`)
            .join('');
          const text = claimsJson(claims, members);
          expect(text).toBe(JSON.stringify({ ...claims, ...rest }));
          expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify({ ...claims, ...rest })));
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it('writes "{}" claims with members and without', () => {
    expect(claimsJson({}, ',"iat":1,"exp":2')).toBe('{"iat":1,"exp":2}');
    expect(claimsJson({ a: undefined }, ',"iat":1')).toBe('{"iat":1}');
    expect(claimsJson({ a: 1 }, '')).toBe('{"a":1}');
  });
});
