/** What tells the client a request never started on a draining instance. */
import { describe, expect, it } from 'vitest';
import { isDrainRefusal } from '../../../src/client/drain-refusal.js';
import { DRAINING_HEADER } from '../../../src/lifecycle/http-drain.js';

describe('isDrainRefusal', () => {
  it('is a 503 marked by the drain, in plain or axios headers', () => {
    expect(isDrainRefusal(503, { [DRAINING_HEADER]: '1' })).toBe(true);
    expect(isDrainRefusal(503, { get: (n: string) => (n === DRAINING_HEADER ? '1' : undefined) })).toBe(true);
    expect(isDrainRefusal(503, {})).toBe(false);
    expect(isDrainRefusal(502, { [DRAINING_HEADER]: '1' })).toBe(false);
    expect(isDrainRefusal(503, { [DRAINING_HEADER]: 'yes' })).toBe(false);
    expect(isDrainRefusal(503, null)).toBe(false);
  });
});
