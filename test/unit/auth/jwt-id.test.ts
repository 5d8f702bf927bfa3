import { describe, expect, it } from 'vitest';
import { randomTokenId } from '../../../src/auth/jwt-id.js';

describe('randomTokenId: 128-bit ids from a pooled CSPRNG buffer', () => {
  it('hands out 22-character base64url ids of 16 bytes, none twice across several pool refills', () => {
    const ids = Array.from({ length: 2_000 }, randomTokenId); // ~8 fills of 256 ids
    for (const id of ids) {
      expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(Buffer.from(id, 'base64url')).toHaveLength(16);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('uses every byte value (the pool is refilled, not reused)', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 2_000; i++) for (const b of Buffer.from(randomTokenId(), 'base64url')) seen.add(b);
    expect(seen.size).toBe(256);
  });
});
