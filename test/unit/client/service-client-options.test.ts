/** ServiceClient options refuse unknown keys and bare numbers, nested ones too. */
import { describe, expect, it } from 'vitest';
import { ServiceClient } from '../../../src/client/service-client.js';
import type { ServiceClientOptions } from '../../../src/client/service-client-options.js';
import type { UpstreamSource } from '../../../src/contracts/upstream.js';
import { InvalidOptionsError } from '../../../src/errors.js';
import { BASE } from './fixtures.js';

/** The error `fn` throws or its promise rejects with. */
async function failure(fn: () => unknown): Promise<InvalidOptionsError & { argument?: string }> {
  try {
    await fn();
  } catch (err) {
    return err as InvalidOptionsError;
  }
  throw new Error('expected a failure');
}

describe('ServiceClient options refuse unknown keys and bare numbers, nested ones too', () => {
  const registry: UpstreamSource = { pick: () => undefined };
  const cases: Array<[string, unknown, Partial<InvalidOptionsError>]> = [
    ['retries', { retries: 3 }, { option: 'retries', suggestion: 'retry.maxAttempts' }],
    ['timeout', { timeout: 1_000 }, { option: 'timeout', suggestion: 'attemptTimeoutMs' }],
    ['bare number', 5_000, { option: 'deadlineMs' }],
    ['retry.retries', { retry: { retries: 3 } }, { option: 'retries', suggestion: 'maxAttempts' }],
    ['retry: 3', { retry: 3 }, { option: 'maxAttempts' }],
    ['retry.backoff.base', { retry: { backoff: { base: 10 } } }, { option: 'base' }],
    ['retry.backoff: 100', { retry: { backoff: 100 } }, { option: 'baseMs' }],
    [
      'retryBudget.clock',
      { retryBudget: { clock: { now: Date.now, monotonic: performance.now } } },
      { option: 'clock' },
    ],
    ['retryBudget: 0.1', { retryBudget: 0.1 }, { option: 'ratio' }],
    ['retryBudget: true', { retryBudget: true }, {}],
    ['breaker.isFailure', { breaker: { isFailure: () => true } }, { option: 'isFailure' }],
    ['breaker.onStateChange', { breaker: { onStateChange: () => {} } }, { option: 'onStateChange' }],
    ['breaker.threshold', { breaker: { threshold: 5 } }, { option: 'threshold' }],
    ['breaker: 5', { breaker: 5 }, { option: 'consecutiveFailures' }],
    ['bulkhead.max', { bulkhead: { max: 3 } }, { option: 'max' }],
    ['bulkhead: 10', { bulkhead: 10 }, { option: 'maxConcurrent' }],
    ['axios junk', { axios: {} }, { option: 'axios' }],
    ['logger junk', { logger: 5 }, { option: 'logger' }],
    ['clock junk', { clock: {} }, { option: 'clock' }],
    ['requestConfigKeys junk', { requestConfigKeys: 'x' }, { option: 'requestConfigKeys' }],
    ['maxResponseBytes junk', { maxResponseBytes: 0 }, { option: 'maxResponseBytes' }],
    [
      'allowAbsoluteUrls',
      { allowAbsoluteUrls: true },
      { option: 'allowAbsoluteUrls', suggestion: 'absoluteUrls' },
    ],
    ['service in options', { service: 'x' }, { option: 'service' }],
    [
      'adapter (the base options of other primitives)',
      { adapter: {} },
      { option: 'adapter', suggestion: 'axios' },
    ],
  ];
  for (const [name, options, expected] of cases) {
    it(name, async () => {
      for (const target of [{ baseUrl: BASE }, { service: 'inventory', registry }]) {
        const err = await failure(() => new ServiceClient(target, options as ServiceClientOptions));
        expect(err).toBeInstanceOf(InvalidOptionsError);
        expect(err).toMatchObject(expected);
      }
    });
  }

  it('false still disables the breaker, the bulkhead and the budget', async () => {
    const client = new ServiceClient(
      { baseUrl: BASE },
      { breaker: false, bulkhead: false, retryBudget: false },
    );
    await client.close();
  });
});
