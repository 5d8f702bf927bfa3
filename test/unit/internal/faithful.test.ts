import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SerializationError } from '../../../src/errors.js';
import { assertFaithful, assertWritesFaithfully } from '../../../src/internal/faithful.js';
import { jsonSerializer } from '../../../src/serializer.js';
import type { Serializer } from '../../../src/types.js';

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

class Tagged extends Array<number> {}

/** Leaves JSON writes as other data, or as themselves, or decides by toJSON. */
const oddLeaf: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    -0,
    Number.MAX_SAFE_INTEGER + 2,
    undefined,
    null,
    '',
    '\u0000\ud800',
  ),
  fc.constant(() => 1).map(() => () => 1),
  fc.string({ maxLength: 4 }).map((s) => Symbol(s)),
  fc.integer().map((n) => new Point(n, n)),
  fc.integer().map((n) => new Date(n)),
  fc.integer().map((n) => new Error(String(n))),
  fc.constant(null).map(() => /x/g),
  fc.integer({ min: 0, max: 3 }).map((n) => Buffer.alloc(n)),
  fc.integer({ min: 0, max: 3 }).map((n) => new Uint8Array(n)),
  fc.integer({ min: 0, max: 3 }).map((n) => Tagged.from({ length: n }, () => n)),
  fc.integer({ min: 0, max: 3 }).map((n) => Object.setPrototypeOf([n], null)),
  fc.string({ maxLength: 4 }).map((s) => Object(Symbol(s))),
  // toJSON: gives the same data, other data, undefined, or is not callable.
  fc.integer().map((n) => ({ n, toJSON: () => ({ n }) })),
  fc
    .integer()
    .map((n) => Object.defineProperty({ n }, 'toJSON', { value: () => ({ n }), enumerable: false })),
  fc.integer().map((n) => Object.defineProperty({ n }, 'toJSON', { value: () => n, enumerable: false })),
  fc
    .integer()
    .map((n) => Object.defineProperty({ n }, 'toJSON', { value: () => undefined, enumerable: false })),
  fc.integer().map((n) => ({ n, toJSON: n })),
  fc.integer().map((n) => Object.assign(Object.create(null), { n })),
);

/** Anything JSON might be asked to write: fast-check's `anything` with every option, mixed with the odd leaves. */
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  node: fc.oneof(
    { maxDepth: 4, depthIdentifier: 'v' },
    fc.anything({
      maxDepth: 2,
      withBoxedValues: true,
      withMap: true,
      withSet: true,
      withDate: true,
      withNullPrototype: true,
      withObjectString: true,
      withTypedArray: true,
      withSparseArray: true,
    }),
    oddLeaf,
    fc.array(tie('node'), { maxLength: 4, depthIdentifier: 'v' }),
    fc.dictionary(fc.string({ maxLength: 4 }), tie('node'), { maxKeys: 4, depthIdentifier: 'v' }),
  ),
})).node;

type Outcome = 'accepted' | { refused: string };

function outcome(fn: () => void): Outcome {
  try {
    fn();
    return 'accepted';
  } catch (err) {
    if (!(err instanceof SerializationError)) throw err;
    return { refused: err.message };
  }
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('assertWritesFaithfully: the JSON walk is the round-trip compare, without the parse', () => {
  it('refuses exactly what the round trip refuses, with the same message (fast-check)', () => {
    let compared = 0;
    let refused = 0;
    fc.assert(
      fc.property(value, (v) => {
        let text: string;
        try {
          text = jsonSerializer.serialize(v);
        } catch {
          return; // BigInt, cycles, pollution keys, a bare undefined: refused before either check
        }
        const viaWalk = outcome(() =>
          assertWritesFaithfully(v, jsonSerializer, 'publish', () => jsonSerializer.deserialize(text)),
        );
        const viaRoundTrip = outcome(() => assertFaithful(v, jsonSerializer.deserialize(text), 'publish'));
        expect(viaWalk).toEqual(viaRoundTrip);
        compared++;
        if (viaWalk !== 'accepted') refused++;
      }),
      { numRuns: 5_000 },
    );
    // Both kinds of verdict were exercised, not just one.
    expect(compared).toBeGreaterThan(2_000);
    expect(refused).toBeGreaterThan(200);
    expect(compared - refused).toBeGreaterThan(200);
  });

  it('does not parse what it checks (plain data), and falls back to the round trip for toJSON', () => {
    const parse = vi.spyOn(JSON, 'parse');
    const plain = { id: 7, tags: ['a', 'b'], nested: { ok: true, at: null, n: -0 }, gone: undefined };
    const plainText = jsonSerializer.serialize(plain);
    assertWritesFaithfully(plain, jsonSerializer, 'publish', () => jsonSerializer.deserialize(plainText));
    expect(parse).not.toHaveBeenCalled();
    const same = Object.defineProperty({ n: 1 }, 'toJSON', { value: () => ({ n: 1 }), enumerable: false });
    const sameText = jsonSerializer.serialize(same);
    assertWritesFaithfully(same, jsonSerializer, 'publish', () => jsonSerializer.deserialize(sameText));
    expect(parse).toHaveBeenCalledTimes(1);
  });

  it('names what was being written, where, and never the value', () => {
    const message = (write: 'cache' | 'publish' | 'session') =>
      outcome(() => {
        const v = { user: { secret: 's3cr3t', roles: new Map([['admin', true]]) } };
        const text = jsonSerializer.serialize(v);
        assertWritesFaithfully(v, jsonSerializer, write, () => jsonSerializer.deserialize(text));
      });
    expect(message('cache')).toEqual({
      refused: expect.stringMatching(/^cannot cache a Map .* at \$\.user\.roles:/),
    });
    expect(message('publish')).toEqual({
      refused: expect.stringMatching(/^cannot publish a Map .* at \$\.user\.roles: consumers would receive/),
    });
    expect(message('session')).toEqual({
      refused: expect.stringMatching(/^cannot store in a session a Map/),
    });
    expect(JSON.stringify(message('publish'))).not.toMatch(/s3cr3t|admin/);
  });

  it('with another serializer, compares against its round trip (a serializer that keeps Maps passes them)', () => {
    const keepsMaps: Serializer = {
      serialize: (v) => JSON.stringify(v, (_, x) => (x instanceof Map ? { $map: [...x] } : x)),
      deserialize: <T>(text: string) =>
        JSON.parse(text, (_, x) =>
          x !== null && typeof x === 'object' && '$map' in x ? new Map(x.$map) : x,
        ) as T,
    };
    const v = { index: new Map([['a', 1]]) };
    expect(
      outcome(() =>
        assertWritesFaithfully(v, keepsMaps, 'publish', () => keepsMaps.deserialize(keepsMaps.serialize(v))),
      ),
    ).toBe('accepted');
    const bad = { at: new Date(0) };
    expect(
      outcome(() =>
        assertWritesFaithfully(bad, keepsMaps, 'publish', () =>
          keepsMaps.deserialize(keepsMaps.serialize(bad)),
        ),
      ),
    ).toEqual({
      refused: expect.stringMatching(/^cannot publish a Date/),
    });
  });
});
