import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DeserializationError,
  isScaleoutError,
  SerializationError,
  UnsafePayloadError,
} from '../../../src/errors.js';
import { assertSafePayload, jsonSerializer } from '../../../src/internal/serializer.js';

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
