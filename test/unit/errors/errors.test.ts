import { describe, expect, it, vi } from 'vitest';
import {
  AbortedError,
  ClosedError,
  ConnectionError,
  DeserializationError,
  ERROR_CODES,
  InvalidArgumentError,
  InvalidOptionsError,
  isScaleoutError,
  LeaseExpiredError,
  LockLostError,
  LockNotAcquiredError,
  ScaleoutError,
  SerializationError,
  TimeoutError,
  UnsafePayloadError,
} from '../../../src/errors.js';

const samples: ScaleoutError[] = [
  new InvalidArgumentError('bad', { argument: 'key' }),
  new InvalidOptionsError('bad', { option: 'ttlMs' }),
  new SerializationError('bad'),
  new DeserializationError('bad'),
  new UnsafePayloadError('bad', '$.__proto__'),
  new TimeoutError('slow', { timeoutMs: 5 }),
  new AbortedError('stop'),
  new ConnectionError('down'),
  new ClosedError('closed'),
  new LockNotAcquiredError('busy', 'r', 10),
  new LockLostError('lost', 'r'),
  new LeaseExpiredError('expired', 'r'),
];

describe('errors', () => {
  it('gives every class its own code from the closed list, and covers the list', () => {
    const codes = samples.map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    expect([...codes].sort()).toEqual([...ERROR_CODES].sort());
  });

  it('names each error after its class and keeps the cause', () => {
    const cause = new Error('socket closed');
    const err = new ConnectionError('redis unreachable', { cause });
    expect(err.name).toBe('ConnectionError');
    expect(err.cause).toBe(cause);
    expect(err).toBeInstanceOf(ScaleoutError);
    expect(err).toBeInstanceOf(Error);
    expect(err.stack).toContain('ConnectionError');
  });

  it('carries the detail fields', () => {
    expect(new InvalidArgumentError('x', { argument: 'key' }).argument).toBe('key');
    expect(new InvalidOptionsError('x', { option: 'ttlMs' }).option).toBe('ttlMs');
    expect(new TimeoutError('x', { timeoutMs: 7 }).timeoutMs).toBe(7);
    expect(new UnsafePayloadError('x', '$.a').path).toBe('$.a');
  });

  it('isScaleoutError matches by brand and optional code', () => {
    const err = new TimeoutError('slow');
    expect(isScaleoutError(err)).toBe(true);
    expect(isScaleoutError(err, 'ERR_TIMEOUT')).toBe(true);
    expect(isScaleoutError(err, 'ERR_CLOSED')).toBe(false);
    expect(isScaleoutError(new Error('plain'))).toBe(false);
    expect(isScaleoutError({ code: 'ERR_TIMEOUT' })).toBe(false);
    expect(isScaleoutError(null)).toBe(false);
    expect(isScaleoutError('ERR_TIMEOUT')).toBe(false);
  });

  it('isScaleoutError recognises an error from another copy of the package', async () => {
    // A second, independent module instance: different classes, same brand.
    vi.resetModules();
    const copy = await import('../../../src/errors.js');
    const foreign = new copy.ClosedError('from the other copy');
    expect(foreign instanceof ClosedError).toBe(false);
    expect(isScaleoutError(foreign, 'ERR_CLOSED')).toBe(true);
    expect(copy.isScaleoutError(new ClosedError('ours'), 'ERR_CLOSED')).toBe(true);
  });
});
