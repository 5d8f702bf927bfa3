/**
 * Hostile values for the registry and monitor property suites: every
 * JavaScript type, boundary numbers, huge strings and control characters,
 * pollution keys, circular and deep objects, Map/Set/Date/BigInt,
 * functions, class instances; URLs of every scheme; option objects with
 * known and unknown keys. Plus the outcome check shared by both suites.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { isScaleoutError } from '../../src/errors.js';

class Gadget {
  readonly n = 1;
}

function circular(): Record<string, unknown> {
  const o: Record<string, unknown> = { a: 1 };
  o.self = o;
  return o;
}

function deep(levels: number): unknown {
  let o: unknown = {};
  for (let i = 0; i < levels; i++) o = { d: o };
  return o;
}

const HUGE = 'h'.repeat(100_000);

/** Keys people and attackers put into objects. */
export const hostileKey = fc.oneof(
  fc.string({ maxLength: 10 }),
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'then',
    '',
    'a-b',
    'a_b',
    'le',
    'quantile',
    '__x',
  ),
);

/** Odd strings: control characters, lone surrogates, quotes, backslashes, huge. */
export const hostileString = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.string({
    unit: fc.constantFrom('\n', '\r', '"', '\\', '\u0000', '\ud800', '\udc00', '{', '}', ':', '-', '_', ' '),
    maxLength: 20,
  }),
  fc.constantFrom(
    '',
    ' ',
    '\n',
    '\ud83d',
    '\u2028',
    '../../etc/passwd',
    HUGE,
    '__proto__',
    'le',
    'U__a_2d_b',
  ),
);

/** Every scalar type and boundary number. */
export const hostileScalar = fc.oneof(
  hostileString,
  fc.integer(),
  fc.double(),
  fc.bigInt(),
  fc.boolean(),
  fc.constantFrom<unknown>(
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    -0,
    2 ** 53,
    2 ** 53 + 2,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    null,
    undefined,
    Symbol('s'),
  ),
);

/** Objects that checks find hard; each draw is a fresh object. */
export const hostileObject: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({
    maxDepth: 2,
    maxKeys: 4,
    key: hostileKey,
    withBigInt: true,
    withBoxedValues: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withNullPrototype: true,
    withSparseArray: true,
  }),
  fc.constant(null).map(() => circular()),
  fc.constant(null).map(() => deep(2_000)),
  fc.constant(null).map(() => JSON.parse('{"__proto__":{"polluted":true}}')),
  fc.constant(null).map(() => new Gadget()),
  fc.constant(null).map(() => new Map([['a', 1]])),
  fc.constant(null).map(() => () => 'fn'),
  fc.constant(null).map(() => new Date(Number.NaN)),
);

/** Anything at all. */
export const hostile: fc.Arbitrary<unknown> = fc.oneof(hostileScalar, hostileObject);

/** An options object: some known keys with hostile values, maybe unknown keys, or not an object at all. */
export function hostileOptions(
  known: readonly string[],
  good: fc.Arbitrary<unknown> = hostile,
): fc.Arbitrary<unknown> {
  const entries = fc.array(
    fc.tuple(fc.oneof(fc.constantFrom(...known), hostileKey), fc.oneof(good, hostile)),
    {
      maxLength: 4,
    },
  );
  return fc.oneof(
    { weight: 4, arbitrary: entries.map((pairs) => Object.fromEntries(pairs)) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 100_000 }) },
    { weight: 1, arbitrary: hostile },
  );
}

/** URLs of every scheme, valid http(s) ones included. */
export const anyUrl = fc.oneof(
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  fc.constantFrom(
    'http://127.0.0.1:4001',
    'http://127.0.0.1:4001/',
    'https://[::1]:8443/api/',
    'http://user:pw@127.0.0.1/',
    'javascript:alert(1)',
    'file:///etc/passwd',
    'data:text/plain,hi',
    'ftp://127.0.0.1/',
    'ws://127.0.0.1/',
    'blob:http://127.0.0.1/x',
    '//127.0.0.1/x',
    '/relative',
    'http://',
    'http://127.0.0.1:99999/',
    `http://127.0.0.1/${'p'.repeat(3000)}`,
    'HTTP://LOCALHOST:80/',
  ),
  fc
    .tuple(
      fc.constantFrom('http', 'https', 'javascript', 'file', 'data', 'mailto', 'x-custom'),
      hostileString,
    )
    .map(([scheme, rest]) => `${scheme}:${rest}`),
  hostile,
);

/**
 * Runs `call` and checks its outcome: it returns, or throws (rejects) a
 * typed ScaleoutError with a code. A raw TypeError, any other error or a
 * hang (beyond `timeoutMs`) fails the property. Returns the error, if any.
 */
export async function typedOutcome(call: () => unknown, timeoutMs = 5_000): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      (async () => call())(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`hung for ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return undefined;
  } catch (err) {
    expect(isScaleoutError(err), `not a typed error: ${String((err as Error)?.stack ?? err)}`).toBe(true);
    expect(typeof (err as { code?: unknown }).code).toBe('string');
    return err;
  } finally {
    clearTimeout(timer);
  }
}

/** Inputs tried per primitive, printed at the end of each suite. */
export const tried = new Map<string, number>();
export function count(primitive: string, n = 1): void {
  tried.set(primitive, (tried.get(primitive) ?? 0) + n);
}
