/**
 * Hostile values for the auth and session property suites: wrong types,
 * unknown option keys, bare numbers where options go, huge and hostile
 * strings, pollution keys, NaN/Infinity/-0/2^53+, deep and circular
 * objects, Map/Set/Date/BigInt, functions, class instances. Plus the
 * outcome check: a value, or a typed ScaleoutError with a code; a raw
 * error or a hang fails the property.
 */
import fc from 'fast-check';
import { isScaleoutError } from '../../src/errors.js';

class Widget {
  readonly id = 1;
}

function circular(): Record<string, unknown> {
  const value: Record<string, unknown> = { a: 1, list: [] };
  value.self = value;
  (value.list as unknown[]).push(value);
  return value;
}

function deep(levels: number): unknown {
  let value: unknown = { leaf: true };
  for (let i = 0; i < levels; i++) value = { next: value };
  return value;
}

const HUGE = 'x'.repeat(70_000);

/** Keys people (and attackers) put into objects. */
export const hostileKey: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '', ' '),
);

/**
 * Strings that are not well-formed UTF-16: at least one lone surrogate (a
 * high one not followed by a low one, or a low one alone), among ASCII, or
 * beside a valid pair. In UTF-8 each lone surrogate becomes U+FFFD, so a
 * store keyed in UTF-8 (Redis) would read `'a\ud800'` and `'a\udfff'` as
 * one key: every key, name and user id must refuse them.
 */
export const loneSurrogateString: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(
      fc.string({ maxLength: 12 }),
      fc.integer({ min: 0xd800, max: 0xdfff }),
      fc.string({ maxLength: 12 }),
    )
    .map(([before, unit, after]) => `${before}${String.fromCharCode(unit)}${after}`),
  fc.constantFrom('\ud800', '\udfff', 'u\ud800', 'u\udfff', '\udc00\ud800', '\ud83d\ude00\ud800', 'a\udbffb'),
);

/** Scalars and odd objects: every JavaScript type, boundary numbers, control characters. */
export const hostileLeaf: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.bigInt(),
  fc.boolean(),
  fc.constantFrom<unknown>(
    '',
    ' ',
    '__proto__',
    '\u0000',
    '\r\n',
    '\u2028',
    '*',
    '../../etc/passwd',
    HUGE,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    -0,
    2 ** 53,
    2 ** 53 + 2,
    -(2 ** 53) - 2,
    Number.MAX_VALUE,
    Number.EPSILON,
    null,
    undefined,
  ),
);

/** Objects that JSON and option checks find hard; each draw is a fresh object. */
export const hostileObject: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({
    maxDepth: 3,
    maxKeys: 5,
    key: hostileKey,
    withBigInt: true,
    withBoxedValues: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withNullPrototype: true,
    withObjectString: true,
    withSparseArray: true,
    withTypedArray: true,
  }),
  fc.constant(null).map(() => circular()),
  fc.constant(null).map(() => deep(5_000)),
  fc.constant(null).map(() => JSON.parse('{"__proto__":{"admin":true}}') as unknown),
  fc.constant(null).map(() => JSON.parse('{"a":{"constructor":{"prototype":{"admin":true}}}}') as unknown),
  fc.constant(null).map(() => ({ [Symbol('k')]: 1 })),
  fc
    .constantFrom('fn', 'symbol', 'date', 'map', 'set', 'error', 'buffer', 'promise', 'widget', 'array')
    .map((kind): unknown => {
      switch (kind) {
        case 'fn':
          return () => 1;
        case 'symbol':
          return Symbol('s');
        case 'date':
          return new Date(Number.NaN);
        case 'map':
          return new Map([[1, 2]]);
        case 'set':
          return new Set([1]);
        case 'error':
          return new Error('e');
        case 'buffer':
          return Buffer.from('x');
        case 'promise':
          return Promise.resolve(1);
        case 'widget':
          return new Widget();
        default:
          return [1, 'two', null];
      }
    }),
);

/** Any hostile value. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(hostileLeaf, hostileObject);

/**
 * An options argument: a hostile value where the object goes (a bare
 * number, a string, a class instance...), or `base` plus up to four keys,
 * known ones with hostile values and unknown ones.
 */
export function hostileOptions(
  known: readonly string[],
  base: Record<string, unknown> = {},
  typos: readonly string[] = [],
): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 1, arbitrary: hostileValue },
    {
      weight: 3,
      arbitrary: fc
        .dictionary(fc.oneof(fc.constantFrom(...known, ...typos), hostileKey), hostileValue, { maxKeys: 4 })
        .map((extra) => ({ ...base, ...extra })),
    },
  );
}

/** Own keys of `value` that are not in `known` (for "unknown keys must be refused"). */
export function unknownKeys(value: unknown, known: readonly string[]): string[] {
  if (typeof value !== 'object' || value === null) return [];
  return Object.keys(value).filter((k) => !known.includes(k));
}

/** Header values: huge, repeated, non-Bearer, Bearer with junk, control characters, wrong types. */
export function hostileHeader(validToken: string): fc.Arbitrary<unknown> {
  const text = fc.oneof(
    fc.string({ maxLength: 60 }),
    fc.string({ unit: 'binary', maxLength: 60 }),
    fc.string({ maxLength: 60 }).map((s) => `Bearer ${s}`),
    fc.string({ unit: 'binary', maxLength: 30 }).map((s) => `Bearer ${validToken}${s}`),
    fc.integer({ min: 0, max: validToken.length }).map((i) => `Bearer ${validToken.slice(0, i)}`),
    fc.constantFrom(
      `Bearer ${validToken}`,
      `bearer ${validToken}`,
      `Bearer  ${validToken} `,
      `Bearer ${validToken}\u0000`,
      `Bearer\t${validToken}`,
      `Basic ${Buffer.from('a:b').toString('base64')}`,
      'Bearer',
      'Bearer ',
      `Bearer ${'A'.repeat(70_000)}`,
      `Bearer ${'a.'.repeat(30_000)}`,
      'Bearer a.b.c',
      'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
      'sid=',
      `sid=${'%'.repeat(5000)}`,
    ),
  );
  return fc.oneof(
    { weight: 4, arbitrary: text },
    { weight: 1, arbitrary: fc.array(text, { minLength: 0, maxLength: 50 }) },
    { weight: 1, arbitrary: hostileLeaf },
  );
}

/** How many inputs each primitive was fed, printed at the end of a suite. */
export class Tally {
  readonly #counts = new Map<string, number>();
  count(name: string): void {
    this.#counts.set(name, (this.#counts.get(name) ?? 0) + 1);
  }
  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.#counts].sort());
  }
  total(): number {
    return [...this.#counts.values()].reduce((a, b) => a + b, 0);
  }
}

/**
 * Runs `fn` and answers `'ok'` or the ScaleoutError code it threw (a
 * rejected promise included). A raw error, or a promise still pending after
 * `timeoutMs`, throws: the property fails with the input.
 */
export async function outcomeOf(fn: () => unknown, timeoutMs = 10_000): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const value = fn();
    if (typeof (value as { then?: unknown } | null)?.then === 'function') {
      await Promise.race([
        value,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`hang: no answer within ${timeoutMs} ms`)), timeoutMs);
          timer.unref();
        }),
      ]);
    }
    return 'ok';
  } catch (err) {
    if (isScaleoutError(err) && typeof err.code === 'string' && err.code.startsWith('ERR_')) return err.code;
    throw err;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
