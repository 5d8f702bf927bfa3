import { describe, expect, it } from 'vitest';
import { parseRetryAfterMs } from '../../../src/client/retry-after.js';

describe('parseRetryAfterMs', () => {
  it('reads seconds and HTTP dates; ignores junk', () => {
    expect(parseRetryAfterMs('2')).toBe(2_000);
    expect(parseRetryAfterMs(['1'])).toBe(1_000);
    expect(parseRetryAfterMs(new Date(10_000).toUTCString(), 5_000)).toBe(5_000);
    expect(parseRetryAfterMs(new Date(1_000).toUTCString(), 5_000)).toBe(0);
    expect(parseRetryAfterMs('soon')).toBeUndefined();
    expect(parseRetryAfterMs(undefined)).toBeUndefined();
  });
});
