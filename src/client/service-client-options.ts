import type { AxiosInstance } from 'axios';
import { InvalidOptionsError } from '../errors.js';
import { clockOption, optionsChecker } from '../internal/validate.js';
import type { BackoffOptions } from '../resilience/backoff.js';
import type { BulkheadOptions } from '../resilience/bulkhead.js';
import type { CircuitBreakerOptions } from '../resilience/circuit-breaker.js';
import type { RetryBudgetOptions } from '../resilience/retry-budget.js';
import type { BaseOptions } from '../types.js';
import type { AbsoluteUrlPolicy } from './request-url.js';
import { checkServiceClientTarget } from './service-client-target.js';

/**
 * Retry options of {@link ServiceClientOptions}.
 *
 * @example
 * ```ts
 * const retry: ClientRetryOptions = { maxAttempts: 3, backoff: { baseMs: 25, maxMs: 500 } };
 * ```
 */
export interface ClientRetryOptions {
  /** Attempts per call, the first included; `1` disables retries. @default 3 */
  maxAttempts?: number;
  /** Capped exponential backoff with full jitter. @default { baseMs: 50, maxMs: 1_000 } */
  backoff?: BackoffOptions;
  /** HTTP statuses that are retried (for idempotent requests). @default [408, 429, 502, 503, 504] */
  retryOnStatus?: readonly number[];
}

/**
 * Options of {@link ServiceClient}: the base options of every primitive
 * (`logger`, `clock`; the client has no store adapter: its transport is
 * `axios`) and the client's own.
 *
 * @example
 * ```ts
 * new ServiceClient({ baseUrl }, { attemptTimeoutMs: 500, deadlineMs: 2_000, retry: { maxAttempts: 3 } });
 * ```
 */
export interface ServiceClientOptions extends Omit<BaseOptions<never>, 'adapter'> {
  /**
   * An existing axios instance (its interceptors and defaults apply). The
   * client never closes it, nor agents it carries: their owner does.
   * @default an instance of the client's own, with keep-alive agents it destroys on close()
   */
  axios?: AxiosInstance;
  /** Time limit of one attempt, in ms (capped by what is left of the deadline). @default 2_000 */
  attemptTimeoutMs?: number;
  /** Time limit of a whole call, retries and backoff included, in ms. @default 10_000 */
  deadlineMs?: number;
  /** Retry rules. @default see {@link ClientRetryOptions} */
  retry?: ClientRetryOptions;
  /** Retry budget of the upstream, or `false` for none (its clock is the client's). @default { ratio: 0.1, minRetriesPerSecond: 1, maxTokens: 10 } */
  retryBudget?: Omit<RetryBudgetOptions, 'clock'> | false;
  /**
   * Circuit breaker of each upstream instance, or `false` for none. The
   * client judges each attempt itself (5xx, timeouts and connection
   * failures are failures), so `isFailure` does not apply here; state
   * changes are the `breaker-state-change` event; the clock is the client's.
   * @default see {@link CircuitBreakerOptions}
   */
  breaker?: Omit<CircuitBreakerOptions, 'onStateChange' | 'clock' | 'isFailure'> | false;
  /** Concurrency limit and queue of the upstream, or `false` for none. @default { maxConcurrent: 64, maxQueue: 256 } */
  bulkhead?: BulkheadOptions | false;
  /**
   * Redirects (301, 302, 303, 307, 308) followed within one attempt, when the
   * client creates its own axios instance. It sends requests on Node's own
   * `http`/`https` (no redirect-following wrapper per request) and follows
   * redirects itself: 303, and 301/302 after a POST, continue as GET without
   * a body; `Authorization`, `Cookie` and `Proxy-Authorization` are dropped
   * when the redirect leaves the origin; only http(s) targets are followed.
   * `0` returns the 3xx answer (an `HttpStatusError` unless `validateStatus`
   * accepts it). With your own axios instance, its own `maxRedirects`
   * applies and this option is ignored.
   * @default 5
   */
  maxRedirects?: number;
  /** Sockets per host of the keep-alive agents the client creates (ignored when the axios instance has agents). @default 128 */
  maxSockets?: number;
  /**
   * What an absolute URL given as a call's path does: `'refuse'` it (a
   * request never leaves the upstream it is charged to), or send it when
   * it is of the base URL's origin (`'same-origin'`, `{ baseUrl }` targets
   * only: links the upstream returned). See {@link AbsoluteUrlPolicy}.
   * @default 'refuse'
   */
  absoluteUrls?: AbsoluteUrlPolicy;
  /**
   * Largest response body the client's own axios instance reads, in bytes;
   * past it the call fails with `PayloadTooLargeError` (and is not
   * retried). Bounds the memory one call can take. Per call, axios'
   * `maxContentLength` wins; with your own axios instance, its settings
   * apply.
   * @default 67_108_864 (64 MiB)
   */
  maxResponseBytes?: number;
  /**
   * Extra per-call config keys your axios interceptors read (the per-call
   * config refuses any key that is neither axios' nor scaleout's). Symbol
   * keys always pass.
   * @default []
   */
  requestConfigKeys?: readonly string[];
}

/**
 * Defaults of {@link ServiceClientOptions} (those of `retryBudget`,
 * `breaker` and `bulkhead` are the policies' own: `RETRY_BUDGET_DEFAULTS`,
 * `CIRCUIT_BREAKER_DEFAULTS`, `BULKHEAD_DEFAULTS`).
 *
 * @example
 * ```ts
 * const client = new ServiceClient({ baseUrl: 'http://127.0.0.1:4001' }, {
 *   deadlineMs: SERVICE_CLIENT_DEFAULTS.deadlineMs * 2,
 * });
 * ```
 */
export const SERVICE_CLIENT_DEFAULTS = {
  /** Time limit of one attempt, ms. */
  attemptTimeoutMs: 2_000,
  /** Time limit of a whole call, ms. */
  deadlineMs: 10_000,
  /** Retry rules. */
  retry: {
    /** Attempts per call, the first included. */
    maxAttempts: 3,
    /** Full-jitter backoff. */
    backoff: {
      /** Delay scale of the first retry, ms. */
      baseMs: 50,
      /** Largest delay, ms. */
      maxMs: 1_000,
    },
    /** Statuses retried (idempotent calls). */
    retryOnStatus: [408, 429, 502, 503, 504],
  },
  /** Sockets per host of the client's own agents. */
  maxSockets: 128,
  /** Redirects followed per attempt (own axios instance). */
  maxRedirects: 5,
  /** What an absolute URL as a call's path does. */
  absoluteUrls: 'refuse',
  /** Largest response body read, bytes (64 MiB). */
  maxResponseBytes: 64 * 1024 * 1024,
} as const;

const checkClientOptions = optionsChecker({
  where: 'ServiceClient options',
  keys: [
    'axios',
    'attemptTimeoutMs',
    'deadlineMs',
    'retry',
    'retryBudget',
    'breaker',
    'bulkhead',
    'maxRedirects',
    'maxSockets',
    'absoluteUrls',
    'maxResponseBytes',
    'requestConfigKeys',
    'logger',
    'clock',
  ],
  hints: {
    retries: 'retry.maxAttempts',
    maxAttempts: 'retry.maxAttempts',
    timeout: 'attemptTimeoutMs',
    timeoutMs: 'attemptTimeoutMs',
    circuitBreaker: 'breaker',
    budget: 'retryBudget',
    adapter: 'axios',
    allowAbsoluteUrls: 'absoluteUrls',
    maxContentLength: 'maxResponseBytes',
    baseUrl: 'the first argument: { baseUrl }',
    baseURL: 'the first argument: { baseUrl }',
    service: 'the first argument: { service, registry }',
    registry: 'the first argument: { service, registry }',
  },
  bareNumber: 'deadlineMs',
});
const checkRetry = optionsChecker({
  where: 'ServiceClient options.retry',
  keys: ['maxAttempts', 'backoff', 'retryOnStatus'],
  hints: { retries: 'maxAttempts', attempts: 'maxAttempts' },
  bareNumber: 'maxAttempts',
});
const checkBackoff = optionsChecker({
  where: 'ServiceClient options.retry.backoff',
  keys: ['baseMs', 'maxMs', 'random'],
  bareNumber: 'baseMs',
});
const checkRetryBudget = optionsChecker({
  where: 'ServiceClient options.retryBudget',
  keys: ['ratio', 'minRetriesPerSecond', 'maxTokens'],
  hints: { clock: 'clock (of the ServiceClient options)' },
  bareNumber: 'ratio',
});
const checkBreaker = optionsChecker({
  where: 'ServiceClient options.breaker',
  keys: [
    'consecutiveFailures',
    'failureRateThreshold',
    'windowMs',
    'minimumRequests',
    'openMs',
    'maxOpenMs',
    'halfOpenProbes',
  ],
  hints: {
    clock: 'clock (of the ServiceClient options)',
    onStateChange: "client.on('breaker-state-change', listener)",
    isFailure: 'retry.retryOnStatus (the client judges attempts: 5xx, timeouts and connection failures fail)',
  },
  bareNumber: 'consecutiveFailures',
});
const checkBulkhead = optionsChecker({
  where: 'ServiceClient options.bulkhead',
  keys: ['maxConcurrent', 'maxQueue'],
  bareNumber: 'maxConcurrent',
});

/**
 * Checks the arguments of `new ServiceClient(target, options)`: the target
 * (see {@link checkServiceClientTarget}, the design's forms included), then
 * every options object, nested ones included, refusing unknown keys and
 * bare numbers.
 *
 * @internal
 */
export function checkServiceClientArguments(target: unknown, options: unknown): void {
  checkServiceClientTarget(target, options);
  checkClientOptions(options);
  const o = (options ?? {}) as ServiceClientOptions;
  checkRetry(o.retry);
  if (typeof o.retry?.backoff !== 'function') checkBackoff(o.retry?.backoff);
  if (o.retryBudget !== false) checkRetryBudget(o.retryBudget);
  if (o.breaker !== false) checkBreaker(o.breaker);
  if (o.bulkhead !== false) checkBulkhead(o.bulkhead);
  if (o.absoluteUrls !== undefined && o.absoluteUrls !== 'refuse' && o.absoluteUrls !== 'same-origin') {
    throw new InvalidOptionsError("absoluteUrls must be 'refuse' or 'same-origin'", {
      option: 'absoluteUrls',
    });
  }
  if (o.absoluteUrls === 'same-origin' && !('baseUrl' in (target as object))) {
    throw new InvalidOptionsError(
      "absoluteUrls: 'same-origin' needs a { baseUrl } target (with a registry, the origin changes per attempt)",
      { option: 'absoluteUrls' },
    );
  }
  const keysOption = o.requestConfigKeys;
  if (
    keysOption !== undefined &&
    (!Array.isArray(keysOption) || keysOption.some((k) => typeof k !== 'string'))
  ) {
    throw new InvalidOptionsError('requestConfigKeys must be an array of strings', {
      option: 'requestConfigKeys',
    });
  }
  const maxResponseBytes = o.maxResponseBytes;
  if (maxResponseBytes !== undefined && (!Number.isSafeInteger(maxResponseBytes) || maxResponseBytes < 1)) {
    throw new InvalidOptionsError('maxResponseBytes must be an integer >= 1', { option: 'maxResponseBytes' });
  }
  const given = o.axios as { request?: unknown; defaults?: unknown } | undefined;
  if (
    given !== undefined &&
    (typeof given?.request !== 'function' || typeof given.defaults !== 'object' || given.defaults === null)
  ) {
    throw new InvalidOptionsError('axios must be an axios instance (axios.create())', { option: 'axios' });
  }
  const logger = o.logger as Record<string, unknown> | undefined;
  if (
    logger !== undefined &&
    (typeof logger !== 'object' ||
      logger === null ||
      ['debug', 'info', 'warn', 'error'].some(
        (m) => logger[m] !== undefined && typeof logger[m] !== 'function',
      ))
  ) {
    throw new InvalidOptionsError('logger must be an object with debug/info/warn/error methods', {
      option: 'logger',
    });
  }
  clockOption(o.clock);
}

/**
 * `retry.retryOnStatus` as a set; throws {@link InvalidOptionsError} unless
 * it is a list of HTTP statuses.
 *
 * @internal
 */
export function resolveRetryOnStatus(retryOnStatus: readonly number[]): ReadonlySet<number> {
  if (
    !Array.isArray(retryOnStatus) ||
    retryOnStatus.some((s) => !Number.isInteger(s) || s < 100 || s > 599)
  ) {
    throw new InvalidOptionsError('retry.retryOnStatus must be a list of HTTP statuses', {
      option: 'retry.retryOnStatus',
    });
  }
  return new Set(retryOnStatus);
}

/**
 * `maxSockets` and `maxRedirects` with their defaults, checked.
 *
 * @internal
 */
export function resolveTransportLimits(options: ServiceClientOptions): {
  maxSockets: number;
  maxRedirects: number;
} {
  const d = SERVICE_CLIENT_DEFAULTS;
  const maxSockets = options.maxSockets ?? d.maxSockets;
  if (!Number.isInteger(maxSockets) || maxSockets < 1) {
    throw new InvalidOptionsError('maxSockets must be an integer >= 1', { option: 'maxSockets' });
  }
  const maxRedirects = options.maxRedirects ?? d.maxRedirects;
  if (!Number.isInteger(maxRedirects) || maxRedirects < 0 || maxRedirects > 100) {
    throw new InvalidOptionsError('maxRedirects must be an integer from 0 to 100', {
      option: 'maxRedirects',
    });
  }
  return { maxSockets, maxRedirects };
}
