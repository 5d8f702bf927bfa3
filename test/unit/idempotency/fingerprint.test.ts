import { describe, expect, it } from 'vitest';
import { fingerprintRequest, fingerprintValue } from '../../../src/idempotency/fingerprint.js';

describe('fingerprintValue and fingerprintRequest', () => {
  it('keep the fingerprint of well-formed input: records stored before still match', () => {
    // Pinned values: any change to them makes every stored fingerprint a mismatch.
    expect(
      fingerprintValue({ amount: 10, note: 'café ✓ 😀', tags: ['a', 'b'], nested: { x: null, y: true } }),
    ).toBe('77450a8900cd22f2d199fa2eaecdacdf6a08a1638d90d714150e80ea52e15d4c');
    expect(fingerprintValue('x\ufffd')).toBe(
      '4ff2975543c06a9bd489b39a6a38c54c96530b1af2710a62e46c4d134aa29bfd',
    );
    expect(fingerprintRequest('POST', '/orders/é?x=1', { note: 'naïve 😀' })).toBe(
      '8e6bc799f2a3c7da4870c395ae4fd40cb43ffae2c93c89fafe05189938f2c15a',
    );
    expect(fingerprintRequest('PUT', '/p', 'body ✓')).toBe(
      '49d61aa099490e70a9a27f3ef5d6516a89a7adfef77ec79e8cd20eb64ffa43d0',
    );
  });

  it('tell strings with lone surrogates apart from each other and from U+FFFD', () => {
    const texts = ['x\ud800', 'x\udfff', 'x\ufffd', 'x\udc00\ud800', 'x\ud800\udc00'];
    const distinct = (values: string[]) => expect(new Set(values).size).toBe(values.length);
    distinct(texts.map((t) => fingerprintValue(t)));
    distinct(texts.map((t) => fingerprintValue({ note: t })));
    distinct(texts.map((t) => fingerprintValue({ [t]: 1 })));
    distinct(texts.map((t) => fingerprintRequest('POST', `/notes/${t}`, undefined)));
    distinct(texts.map((t) => fingerprintRequest('POST', '/notes', t)));
    distinct(texts.map((t) => fingerprintRequest('POST', '/notes', { note: t })));
  });
});
