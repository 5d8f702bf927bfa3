import { describe, expect, it } from 'vitest';
import { readDeadline } from '../../../src/client/deadline.js';

describe('readDeadline', () => {
  it('turns the relative deadline header into an absolute deadline', () => {
    expect(readDeadline({ headers: { 'x-request-deadline-ms': '250' } }, 1_000)).toBe(1_250);
    expect(readDeadline({ headers: new Headers({ 'x-request-deadline-ms': '0' }) }, 1_000)).toBe(1_000);
    expect(readDeadline({ headers: { 'x-request-deadline-ms': '-5' } }, 1_000)).toBeUndefined();
    expect(readDeadline({ headers: { 'x-request-deadline-ms': 'abc' } }, 1_000)).toBeUndefined();
    expect(readDeadline({ headers: {} }, 1_000)).toBeUndefined();
  });
});
