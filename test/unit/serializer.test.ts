import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DeserializationError,
  isScaleoutError,
  SerializationError,
  UnsafePayloadError,
} from '../../src/errors.js';
import { assertSafePayload, jsonSerializer } from '../../src/serializer.js';

describe('jsonSerializer', () => {
  it('round-trips JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        // fast-check's jsonValue may produce keys named __proto__; those are refused by design.
        let text: string;
        try {
          text = jsonSerializer.serialize(value);
        } catch (err) {
          expect(err).toBeInstanceOf(UnsafePayloadError);
          return;
        }
        expect(jsonSerializer.deserialize(text)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses __proto__ keys when reading, at any depth', () => {
    expect(() => jsonSerializer.deserialize('{"__proto__":{"admin":true}}')).toThrow(UnsafePayloadError);
    const nested = '{"a":[1,{"b":{"__proto__":{"polluted":1}}}]}';
    try {
      jsonSerializer.deserialize(nested);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(UnsafePayloadError);
      expect((err as UnsafePayloadError).path).toBe('$.a[1].b.__proto__');
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses constructor.prototype when reading', () => {
    expect(() => jsonSerializer.deserialize('{"constructor":{"prototype":{"x":1}}}')).toThrow(
      UnsafePayloadError,
    );
  });

  it('accepts harmless look-alikes', () => {
    expect(jsonSerializer.deserialize('{"constructor":"Foo","prototype":1,"proto":2}')).toEqual({
      constructor: 'Foo',
      prototype: 1,
      proto: 2,
    });
    expect(jsonSerializer.deserialize('"__proto__"')).toBe('__proto__');
    expect(jsonSerializer.deserialize('{"k":"__proto__"}')).toEqual({ k: '__proto__' });
  });

  it('refuses to write a value that carries a pollution key', () => {
    const parsed = JSON.parse('{"user":{"__proto__":{"admin":true}}}');
    expect(() => jsonSerializer.serialize(parsed)).toThrow(UnsafePayloadError);
    expect(() => jsonSerializer.serialize({ constructor: { prototype: {} } })).toThrow(UnsafePayloadError);
  });

  it('refuses circular values, BigInt, undefined, functions and symbols with SerializationError', () => {
    const circular: Record<string, unknown> = { a: 1 };
    circular.self = circular;
    for (const value of [circular, { n: 1n }, undefined, () => 1, Symbol('s')]) {
      try {
        jsonSerializer.serialize(value);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(SerializationError);
        expect(isScaleoutError(err, 'ERR_SERIALIZE')).toBe(true);
      }
    }
    try {
      jsonSerializer.serialize(circular);
    } catch (err) {
      expect((err as Error).message).toContain('circular');
      expect((err as Error).cause).toBeInstanceOf(TypeError);
    }
  });

  it('refuses malformed text with DeserializationError and does not echo it', () => {
    const secret = '{"password":"hunter2"';
    try {
      jsonSerializer.deserialize(secret);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(DeserializationError);
      expect((err as Error).message).not.toContain('hunter2');
    }
    expect(() => jsonSerializer.deserialize(42 as unknown as string)).toThrow(DeserializationError);
  });

  it('never throws an untyped error on random text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        try {
          jsonSerializer.deserialize(text);
        } catch (err) {
          expect(isScaleoutError(err)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('assertSafePayload copes with cycles and deep nesting without recursion', () => {
    const cyc: Record<string, unknown> = {};
    cyc.me = cyc;
    expect(() => assertSafePayload(cyc)).not.toThrow();
    let deep: unknown = { leaf: true };
    for (let i = 0; i < 50_000; i++) deep = { next: deep };
    expect(() => assertSafePayload(deep)).not.toThrow();
  });
});

/** `key` with the characters at `positions` written as JSON `\uXXXX` escapes (hex case per `upper`). */
function escapeKey(key: string, positions: readonly number[], upper = false): string {
  let out = '';
  for (let i = 0; i < key.length; i++) {
    if (!positions.includes(i)) {
      out += key[i];
      continue;
    }
    const hex = key.charCodeAt(i).toString(16).padStart(4, '0');
    out += `\\u${upper ? hex.toUpperCase() : hex}`;
  }
  return out;
}

const allPositions = (key: string) => Array.from({ length: key.length }, (_, i) => i);

describe('jsonSerializer: escaped pollution keys on read', () => {
  const refused = (text: string) => {
    try {
      jsonSerializer.deserialize(text);
    } catch (err) {
      expect(err).toBeInstanceOf(UnsafePayloadError);
      return true;
    }
    return false;
  };

  it('refuses the issue reproductions', () => {
    expect(refused(String.raw`{"\u005f_proto__":{"admin":true}}`)).toBe(true);
    expect(refused(String.raw`{"constructor":{"\u0070rototype":{}}}`)).toBe(true);
  });

  it('refuses __proto__ with any one letter escaped, lower- or upper-case hex', () => {
    for (const upper of [false, true]) {
      for (let i = 0; i < '__proto__'.length; i++) {
        const key = escapeKey('__proto__', [i], upper);
        expect(refused(`{"${key}":{"admin":true}}`), key).toBe(true);
      }
    }
  });

  it('refuses constructor.prototype with any one letter of either key escaped', () => {
    for (const upper of [false, true]) {
      for (let i = 0; i < 'prototype'.length; i++) {
        const key = escapeKey('prototype', [i], upper);
        expect(refused(`{"constructor":{"${key}":{"x":1}}}`), key).toBe(true);
        expect(refused(`{"${escapeKey('constructor', [0, 5], upper)}":{"${key}":{"x":1}}}`), key).toBe(true);
      }
      for (let i = 0; i < 'constructor'.length; i++) {
        const key = escapeKey('constructor', [i], upper);
        expect(refused(`{"${key}":{"prototype":{"x":1}}}`), key).toBe(true);
      }
    }
  });

  it('refuses fully and partly escaped keys, nested and inside arrays', () => {
    const full = escapeKey('__proto__', allPositions('__proto__'));
    expect(refused(`{"${full}":{"admin":true}}`)).toBe(true);
    expect(refused(`{"a":{"b":[1,{"${escapeKey('__proto__', [1, 3, 8], true)}":{}}]}}`)).toBe(true);
    expect(refused(`[[{"${escapeKey('__proto__', [2, 4])}":null}]]`)).toBe(true);
    expect(refused(`[{"constructor":{"${escapeKey('prototype', allPositions('prototype'))}":[]}}]`)).toBe(
      true,
    );
    const path = (() => {
      try {
        jsonSerializer.deserialize(`{"list":[0,{"${escapeKey('__proto__', [0])}":1}]}`);
      } catch (err) {
        return (err as UnsafePayloadError).path;
      }
    })();
    expect(path).toBe('$.list[1].__proto__');
  });

  it('refuses every random escaping of the pollution keys (fast-check)', () => {
    const positions = (key: string) =>
      fc.uniqueArray(fc.integer({ min: 0, max: key.length - 1 }), { minLength: 1, maxLength: key.length });
    fc.assert(
      fc.property(
        positions('__proto__'),
        positions('prototype'),
        fc.boolean(),
        fc.integer({ min: 0, max: 3 }),
        (protoAt, prototypeAt, upper, depth) => {
          const wrap = (inner: string) => {
            let text = inner;
            for (let d = 0; d < depth; d++) text = d % 2 === 0 ? `{"n":${text}}` : `[1,${text}]`;
            return text;
          };
          expect(refused(wrap(`{"${escapeKey('__proto__', protoAt, upper)}":{"admin":true}}`))).toBe(true);
          expect(refused(wrap(`{"constructor":{"${escapeKey('prototype', prototypeAt, upper)}":{}}}`))).toBe(
            true,
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  it('a refused payload never reaches a caller that copies it', () => {
    for (const text of [
      String.raw`{"\u005f_proto__":{"admin":true}}`,
      String.raw`{"_\u005Fproto__":{"admin":true}}`,
    ]) {
      let value: unknown;
      try {
        value = jsonSerializer.deserialize(text);
      } catch {
        value = undefined;
      }
      expect(value).toBeUndefined();
      expect((Object.assign({}, value) as { admin?: unknown }).admin).toBeUndefined();
    }
  });

  it('parses ordinary payloads unchanged, escapes included', () => {
    const safe = fc
      .jsonValue()
      .filter((v) => !JSON.stringify(v).includes('__proto__') && !JSON.stringify(v).includes('prototype'));
    fc.assert(
      fc.property(safe, (value) => {
        const text = JSON.stringify(value);
        expect(jsonSerializer.deserialize(text)).toEqual(JSON.parse(text));
        // The same value written the way ASCII-only producers (Python's json.dumps) write it.
        const ascii = text.replace(
          /[^\x20-\x7e]/g,
          (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
        );
        expect(jsonSerializer.deserialize(ascii)).toEqual(JSON.parse(ascii));
      }),
      { numRuns: 300 },
    );
    // Escaped look-alikes that are not pollution keys are ordinary keys.
    expect(jsonSerializer.deserialize(String.raw`{"\u0070roto":1,"\u005f_proto_":2,"Jos\u00e9":3}`)).toEqual({
      proto: 1,
      __proto_: 2,
      José: 3,
    });
    expect(
      jsonSerializer.deserialize(String.raw`{"k":"\u005f_proto__","constructor":{"p\u0072ototyp":1}}`),
    ).toEqual({
      k: '__proto__',
      constructor: { prototyp: 1 },
    });
  });
});
