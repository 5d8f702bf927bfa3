/**
 * Hostile values for the cache and lock property suites: wrong types,
 * unknown option keys, bare numbers where options go, huge and hostile
 * strings, pollution keys, NaN/Infinity/-0/2^53+, deep and circular
 * objects, Map/Set/Date/BigInt, functions, class instances. And the outcome
 * check: a value, or a ScaleoutError with a code; a raw error or a hang
 * fails the property with its input.
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

/** Over the cache's default maxKeyLength and the lock's resource limit. */
export const LONG = 'k'.repeat(5_000);
/** Over the cache's default maxValueBytes (1 MiB) once serialized. */
export const HUGE = 'x'.repeat(1_100_000);

/** Keys people (and attackers) put into objects. */
export const hostileKey: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '', ' '),
);

/** Strings a cache key or lock resource may be given. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(
    '',
    ' ',
    '__proto__',
    'constructor',
    '\u0000',
    'a\nb',
    '\r\n',
    '\u2028',
    '\u007f',
    '*',
    '?',
    '[a-z]',
    '\\',
    '{',
    '}',
    '{}',
    '{tag}',
    'a{b}c',
    '}{',
    'v:',
    'l:',
    'cache:bus',
    '\ud800',
    '../../etc/passwd',
    LONG,
  ),
);

/** Scalars of every type, boundary numbers included. */
export const hostileLeaf: fc.Arbitrary<unknown> = fc.oneof(
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
    0,
    1,
    -1,
    1.5,
    2 ** 31,
    2 ** 53,
    2 ** 53 + 2,
    -(2 ** 53) - 2,
    Number.MAX_SAFE_INTEGER,
    Number.MAX_VALUE,
    Number.EPSILON,
    null,
    undefined,
  ),
);

/** Objects that JSON, the faithfulness check and option checks find hard; each draw is fresh. */
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
  fc.constant(null).map(() => deep(200)),
  fc.constant(null).map(() => JSON.parse('{"__proto__":{"admin":true}}') as unknown),
  fc.constant(null).map(() => JSON.parse('{"a":{"constructor":{"prototype":{"admin":true}}}}') as unknown),
  fc.constant(null).map(() => ({ [Symbol('k')]: 1 })),
  fc.constant(null).map(() => ({ big: HUGE })),
  fc
    .constantFrom(
      'fn',
      'symbol',
      'date',
      'map',
      'set',
      'error',
      'buffer',
      'promise',
      'widget',
      'abort',
      'array',
    )
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
        case 'abort':
          return new AbortController().signal;
        default:
          return [1, 'two', null];
      }
    }),
);

/** Any hostile value. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(hostileLeaf, hostileObject);

/**
 * An options argument: a hostile value where the object goes (a bare
 * number, a string, a class instance...), or `base` plus up to four keys:
 * known ones with hostile values, typos and unknown ones.
 */
export function hostileOptions(
  known: readonly string[],
  typos: readonly string[] = [],
  base: Record<string, unknown> = {},
): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 1, arbitrary: hostileValue },
    { weight: 1, arbitrary: fc.constant(undefined) },
    {
      weight: 3,
      arbitrary: fc
        .dictionary(fc.oneof(fc.constantFrom(...known, ...typos), hostileKey), hostileValue, { maxKeys: 4 })
        .map((extra) => ({ ...base, ...extra })),
    },
  );
}

/** Own enumerable keys of a plain object `value` that are not in `known`. */
export function unknownKeys(value: unknown, known: readonly string[]): string[] {
  if (typeof value !== 'object' || value === null) return [];
  return Object.keys(value).filter((k) => !known.includes(k));
}

/** Whether `value` is where an options object goes but is no plain object (refused outright). */
export function notAnOptionsObject(value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return true;
  const proto = Object.getPrototypeOf(value);
  return proto !== Object.prototype && proto !== null;
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

/** Collects unhandled rejections while a suite runs (they fail it at the end). */
export function watchUnhandled(): { stop(): unknown[] } {
  const seen: unknown[] = [];
  const onUnhandled = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', onUnhandled);
  return {
    stop() {
      process.off('unhandledRejection', onUnhandled);
      return seen;
    },
  };
}
