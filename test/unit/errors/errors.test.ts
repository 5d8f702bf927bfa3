import { describe, expect, it, vi } from 'vitest';
import {
  AbortedError,
  BulkheadFullError,
  CacheValueTooLargeError,
  CircuitOpenError,
  ClosedError,
  ConnectionError,
  ConsumerCancelledError,
  CorruptDataError,
  DeserializationError,
  DuplicateRegistrationError,
  ERROR_CODES,
  HttpStatusError,
  IdempotencyConflictError,
  IdempotencyMismatchError,
  InvalidArgumentError,
  InvalidOptionsError,
  isScaleoutError,
  JwksFetchError,
  JwksNoMatchingKeyError,
  JwtAlgorithmError,
  JwtClaimMismatchError,
  JwtClaimMissingError,
  JwtExpiredError,
  JwtInvalidSignatureError,
  JwtMalformedError,
  JwtNotYetValidError,
  JwtRevokedError,
  JwtTooLargeError,
  JwtUnsupportedHeaderError,
  LeaseExpiredError,
  LockLostError,
  LockNotAcquiredError,
  NoInstancesError,
  NotRegisteredError,
  NoUpstreamError,
  PayloadTooLargeError,
  PublishRejectedError,
  QueueBufferFullError,
  QueueMismatchError,
  RetryBudgetExhaustedError,
  ScaleoutError,
  SerializationError,
  SessionConflictError,
  SessionNotFoundError,
  TimeoutError,
  UnsafePayloadError,
} from '../../../src/errors.js';

const samples: ScaleoutError[] = [
  new InvalidArgumentError('bad', { argument: 'key' }),
  new InvalidOptionsError('bad', { option: 'ttlMs' }),
  new SerializationError('bad'),
  new DeserializationError('bad'),
  new UnsafePayloadError('bad', { path: '$.__proto__' }),
  new TimeoutError('slow', { timeoutMs: 5 }),
  new AbortedError('stop'),
  new ConnectionError('down'),
  new ClosedError('closed'),
  new CorruptDataError('junk', { key: 'app:k' }),
  new PayloadTooLargeError('big', { bytes: 10, maxBytes: 5 }),
  new NoInstancesError('none', { service: 'svc' }),
  new DuplicateRegistrationError('dup', { service: 'svc' }),
  new NotRegisteredError('unknown', { service: 'svc' }),
  new QueueBufferFullError('full', { capacity: 10 }),
  new PublishRejectedError('nack'),
  new QueueMismatchError('406', { queue: 'orders' }),
  new ConsumerCancelledError('cancelled', { queue: 'orders' }),
  new SessionConflictError('conflict', { expectedVersion: 1, actualVersion: 2 }),
  new SessionNotFoundError('gone'),
  new JwtMalformedError('bad'),
  new JwtTooLargeError('big', { maxBytes: 8192 }),
  new JwtAlgorithmError('alg'),
  new JwtUnsupportedHeaderError('crit'),
  new JwtInvalidSignatureError('sig'),
  new JwtExpiredError('exp'),
  new JwtNotYetValidError('nbf'),
  new JwtClaimMissingError('missing', { claim: 'exp' }),
  new JwtClaimMismatchError('mismatch', { claim: 'iss' }),
  new JwtRevokedError('revoked'),
  new JwksNoMatchingKeyError('kid'),
  new JwksFetchError('fetch'),
  new CacheValueTooLargeError('too large', { bytes: 2_000_000, maxBytes: 1_048_576 }),
  new HttpStatusError('503', {
    response: { status: 503, headers: {}, data: null },
    method: 'GET',
    url: 'http://a/',
  }),
  new CircuitOpenError('open', { retryAfterMs: 5 }),
  new BulkheadFullError('full'),
  new RetryBudgetExhaustedError('budget'),
  new NoUpstreamError('none'),
  new LockNotAcquiredError('busy', { resource: 'r', waitedMs: 10 }),
  new LockLostError('lost', { resource: 'r' }),
  new LeaseExpiredError('expired', { resource: 'r' }),
  new IdempotencyConflictError('busy', { key: 'k', reason: 'in-progress', retryAfterMs: 5 }),
  new IdempotencyMismatchError('reused', { key: 'k' }),
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
    expect(new InvalidOptionsError('x', { option: 'ttl', suggestion: 'ttlMs' }).suggestion).toBe('ttlMs');
    expect(new CorruptDataError('x', { key: 'app:k' }).key).toBe('app:k');
    expect(new PayloadTooLargeError('x', { bytes: 10, maxBytes: 5 })).toMatchObject({
      bytes: 10,
      maxBytes: 5,
    });
    expect(new QueueMismatchError('x', { queue: 'orders' }).queue).toBe('orders');
    expect(new TimeoutError('x', { timeoutMs: 7 }).timeoutMs).toBe(7);
    expect(new UnsafePayloadError('x', { path: '$.a' }).path).toBe('$.a');
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
