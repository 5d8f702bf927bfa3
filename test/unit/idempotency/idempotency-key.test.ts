import { describe, expect, it } from 'vitest';
import { readKeyHeader } from '../../../src/idempotency/idempotency-key.js';

describe('reading the Idempotency-Key header', () => {
  it('takes a bare key or an RFC 8941 String, unquoted', () => {
    expect(readKeyHeader('8e03978e-40d5-43e8-bc93-6894a57f9324', 255)).toEqual({
      kind: 'key',
      key: '8e03978e-40d5-43e8-bc93-6894a57f9324',
    });
    expect(readKeyHeader('"8e03978e"', 255)).toEqual({ kind: 'key', key: '8e03978e' });
    expect(readKeyHeader('"a \\"b\\" \\\\ c"', 255)).toEqual({ kind: 'key', key: 'a "b" \\ c' });
    expect(readKeyHeader('  order-1\t', 255)).toEqual({ kind: 'key', key: 'order-1' });
    expect(readKeyHeader(['only-once'], 255)).toEqual({ kind: 'key', key: 'only-once' });
  });

  it('tells absent from invalid, and says why without echoing the key', () => {
    expect(readKeyHeader(undefined, 255)).toEqual({ kind: 'absent' });
    expect(readKeyHeader([], 255)).toEqual({ kind: 'absent' });
    const invalid = [
      '',
      '   ',
      '""',
      '"unterminated',
      '"bad \\n escape"',
      '"inner " quote"',
      '"trailing backslash\\"',
      'x'.repeat(256),
      `"${'x'.repeat(256)}"`,
      'tab\tinside',
      'naïve',
      'bell\u0007',
      ['a', 'b'],
      42,
    ];
    for (const value of invalid) {
      const r = readKeyHeader(value, 255);
      expect(r.kind, JSON.stringify(value)).toBe('invalid');
      if (r.kind === 'invalid' && typeof value === 'string' && value.length > 3) {
        expect(r.reason).not.toContain(value);
      }
    }
    expect(readKeyHeader('x'.repeat(255), 255).kind).toBe('key');
    expect(readKeyHeader('x'.repeat(11), 10).kind).toBe('invalid');
  });
});
