import { describe, expect, it } from 'vitest';
import { generateSessionId, isValidSessionId } from '../../../src/session/session-id.js';

describe('session ids', () => {
  it('are 43 base64url chars, distinct, and validated by shape', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => generateSessionId()));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(isValidSessionId(id)).toBe(true);
    expect(isValidSessionId(undefined)).toBe(false);
    expect(isValidSessionId('a'.repeat(44))).toBe(false);
    expect(isValidSessionId(`${'a'.repeat(42)}=`)).toBe(false);
  });
});
