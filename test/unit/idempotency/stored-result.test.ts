import { describe, expect, it } from 'vitest';
import { isScaleoutError } from '../../../src/errors.js';
import { fingerprintRequest, fingerprintValue } from '../../../src/idempotency/fingerprint.js';
import { decodeStoredResult, encodeStoredResult } from '../../../src/idempotency/stored-result.js';

describe('stored results', () => {
  it('round-trips values, HTTP responses and not-kept markers', () => {
    const cases = [
      { kind: 'value', text: '{"a":1}' },
      { kind: 'value', text: undefined },
      {
        kind: 'http',
        status: 201,
        headers: [
          ['content-type', 'application/json'],
          ['location', '/orders/1'],
        ],
        body: Buffer.from([0, 1, 2, 255]),
      },
      {
        kind: 'http',
        status: 202,
        statusMessage: 'Queued For Later',
        headers: [
          ['link', '</a>; rel="a"'],
          ['link', '</b>; rel="b"'],
        ],
        body: Buffer.from('queued'),
      },
      { kind: 'http', status: 200, statusMessage: '', headers: [], body: Buffer.alloc(0) },
      { kind: 'none', reason: 'too-large' },
    ] as const;
    for (const c of cases) expect(decodeStoredResult(encodeStoredResult(c as never), 'k', 1024)).toEqual(c);
  });

  it('writes a status message only when there is one: a record without it reads as before', () => {
    const plain = { kind: 'http', status: 201, headers: [], body: Buffer.from('ok') } as const;
    expect(encodeStoredResult(plain)).toBe('{"t":"h","s":201,"h":[],"b":"b2s="}');
    expect(decodeStoredResult('{"t":"h","s":201,"h":[],"b":"b2s="}', 'k', 1024)).toEqual(plain);
    expect(decodeStoredResult('{"t":"h","s":201,"h":[],"b":"b2s="}', 'k', 1024)).not.toHaveProperty(
      'statusMessage',
    );
  });

  it('refuses anything else with ERR_CORRUPT_DATA naming the key, never the value', () => {
    const junk = [
      'not json',
      '[]',
      'null',
      '{"t":"v","d":1}',
      '{"t":"v","d":"x","extra":1}',
      '{"t":"h","s":500,"h":[],"b":""}',
      '{"t":"h","s":200.5,"h":[],"b":""}',
      '{"t":"h","s":200,"h":[["Set-Cookie\\n","x"]],"b":""}',
      '{"t":"h","s":200,"h":[["x-a","line\\r\\nbreak"]],"b":""}',
      '{"t":"h","s":200,"h":[],"b":"!!!!"}',
      '{"t":"h","s":200,"m":7,"h":[],"b":""}',
      '{"t":"h","s":200,"m":null,"h":[],"b":""}',
      '{"t":"h","s":200,"m":"split\\r\\nx-injected: 1","h":[],"b":""}',
      '{"t":"h","s":200,"m":"\\u0100 beyond latin-1","h":[],"b":""}',
      `{"t":"h","s":200,"m":"${'m'.repeat(1025)}","h":[],"b":""}`,
      `{"t":"h","s":200,"h":[],"b":"${Buffer.alloc(2048).toString('base64')}"}`,
      '{"t":"x","w":"because"}',
      '{"t":"q"}',
      '{"__proto__":{"t":"v"}}',
      '{"t":"\\u0076","__proto__":{"polluted":true}}',
    ];
    for (const text of junk) {
      let err: unknown;
      try {
        decodeStoredResult(text, 'scaleout:idem:{http:x}', 1024);
      } catch (e) {
        err = e;
      }
      expect(isScaleoutError(err, 'ERR_CORRUPT_DATA'), text).toBe(true);
      expect((err as { key?: string }).key).toBe('scaleout:idem:{http:x}');
    }
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });
});

describe('fingerprints', () => {
  it('ignore key order but not values, types or nesting', () => {
    expect(fingerprintValue({ a: 1, b: [1, 2] })).toBe(fingerprintValue({ b: [1, 2], a: 1 }));
    const distinct = [1, '1', [1], { a: 1 }, { a: '1' }, [1, 2], [2, 1], null, true, 1n, new Uint8Array([1])];
    expect(new Set(distinct.map(fingerprintValue)).size).toBe(distinct.length);
    expect(fingerprintValue(undefined)).toBe('');
    expect(fingerprintValue('x')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('cover method, path and body; a parsed body in any key order, a raw body as bytes', () => {
    const base = fingerprintRequest('POST', '/pay?x=1', { amount: 5, currency: 'EUR' });
    expect(fingerprintRequest('POST', '/pay?x=1', { currency: 'EUR', amount: 5 })).toBe(base);
    expect(fingerprintRequest('PATCH', '/pay?x=1', { amount: 5, currency: 'EUR' })).not.toBe(base);
    expect(fingerprintRequest('POST', '/pay?x=2', { amount: 5, currency: 'EUR' })).not.toBe(base);
    expect(fingerprintRequest('POST', '/pay?x=1', { amount: 6, currency: 'EUR' })).not.toBe(base);
    expect(fingerprintRequest('POST', '/p', 'abc')).toBe(
      fingerprintRequest('POST', '/p', Buffer.from('abc')),
    );
    expect(fingerprintRequest('POST', '/p', undefined)).not.toBe(fingerprintRequest('POST', '/p', ''));
  });

  it('refuse values with no canonical form (cycles, functions, Maps, class instances) with a typed error', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const bad of [cyclic, () => 1, new Map(), new (class X {})(), Symbol('s')]) {
      expect(() => fingerprintValue(bad)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    }
    let deep: unknown = 1;
    for (let i = 0; i < 1_000; i++) deep = [deep];
    expect(() => fingerprintValue(deep)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    const shared = { a: 1 };
    expect(fingerprintValue([shared, shared])).toMatch(/^[0-9a-f]{64}$/);
  });
});
