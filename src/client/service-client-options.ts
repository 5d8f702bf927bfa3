import type { AxiosInstance } from 'axios';
import { InvalidOptionsError } from '../errors.js';
import { optionsChecker } from '../internal/validate.js';
import type { ServiceRegistry } from '../registry/service-registry.js';
import type { BackoffOptions } from '../resilience/backoff.js';
import type { BulkheadOptions } from '../resilience/bulkhead.js';
import type { CircuitBreakerOptions } from '../resilience/circuit-breaker.js';
import type { RetryBudgetOptions } from '../resilience/retry-budget.js';
import type { Clock, Logger } from '../types.js';
import type { AbsoluteUrlPolicy } from './request-url.js';
import type { UpstreamSource } from './upstream-source.js';

/**
 * Where a {@link ServiceClient} sends requests: one base URL, or a service
 * name resolved per attempt through a registry.
 *
 * @example
 * ```ts
 * const direct: ServiceClientTarget = { baseUrl: 'http://127.0.0.1:4001' };
 * const found: ServiceClientTarget = { service: 'inventory', registry };
 * ```
 */
export type ServiceClientTarget =
  | {
      /** Absolute http(s) URL every request is sent to. */
      readonly baseUrl: string;
    }
  | {
      /** Name of the service, passed to `registry.pick`. */
      readonly service: string;
      /**
       * Where instances come from and where attempt results go: a
       * `ServiceRegistry` (its balancer, outstanding counts and outlier
       * ejection see every attempt), or any {@link UpstreamSource}.
       */
      readonly registry: ServiceRegistry | UpstreamSource;
    };

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
 * Options of {@link ServiceClient}.
 *
 * @example
 * ```ts
 * new ServiceClient({ baseUrl }, { attemptTimeoutMs: 500, deadlineMs: 2_000, retry: { maxAttempts: 3 } });
 * ```
 */
export interface ServiceClientOptions {
  /** An existing axios instance (its interceptors and defaults apply). @default axios.create() */
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
   * changes are the `breakerStateChange` event; the clock is the client's.
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
  /** Receives warnings (listener failures). @default none */
  logger?: Logger;
  /** Time source (tests inject a fake one). @default systemClock */
  clock?: Clock;
}

/**
 * Defaults of {@link ServiceClientOptions}.
 *
 * @example
 * ```ts
 * console.log(SERVICE_CLIENT_DEFAULTS);
 * ```
 */
export const SERVICE_CLIENT_DEFAULTS = {
  attemptTimeoutMs: 2_000,
  deadlineMs: 10_000,
  maxAttempts: 3,
  backoff: { baseMs: 50, maxMs: 1_000 },
  retryOnStatus: [408, 429, 502, 503, 504],
  maxSockets: 128,
  maxRedirects: 5,
  maxInstances: 1_024,
  absoluteUrls: 'refuse',
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
    onStateChange: "client.on('breakerStateChange', listener)",
    isFailure: 'retry.retryOnStatus (the client judges attempts: 5xx, timeouts and connection failures fail)',
  },
  bareNumber: 'consecutiveFailures',
});
const checkBulkhead = optionsChecker({
  where: 'ServiceClient options.bulkhead',
  keys: ['maxConcurrent', 'maxQueue'],
  bareNumber: 'maxConcurrent',
});

/** A name safe to repeat in a message: a plain service name, else a placeholder. */
function nameOf(value: unknown): string {
  return typeof value === 'string' && /^[\w.-]{1,64}$/.test(value) ? value : '<service>';
}

/**
 * Checks the arguments of `new ServiceClient(target, options)`: the
 * design's forms (`new ServiceClient('inventory-service')`, which read
 * `process.env['INVENTORY-SERVICE_URL']`, and `new ServiceClient(registry,
 * 'inventory-service')`) fail with the scaleout form in the message; every
 * options object, nested ones included, refuses unknown keys and bare
 * numbers.
 *
 * @internal
 */
export function checkServiceClientArguments(target: unknown, options: unknown): void {
  if (typeof target === 'string') {
    const name = nameOf(target);
    throw new InvalidOptionsError(
      `new ServiceClient('${name}') is the design's form, which read process.env['${name.toUpperCase()}_URL']: pass the URL, new ServiceClient({ baseUrl: process.env['${name.toUpperCase()}_URL'] }), or find instances through a registry, new ServiceClient({ service: '${name}', registry })`,
      { option: 'target', suggestion: 'baseUrl' },
    );
  }
  if (typeof target !== 'object' || target === null || Array.isArray(target)) {
    throw new InvalidOptionsError('target must be { baseUrl } or { service, registry }', {
      option: 'target',
    });
  }
  if (typeof (target as { pick?: unknown }).pick === 'function') {
    const name = nameOf(options);
    throw new InvalidOptionsError(
      `new ServiceClient(registry, '${name}') is the design's form: pass new ServiceClient({ service: '${name}', registry })`,
      { option: 'target', suggestion: 'service' },
    );
  }
  const keys = 'baseUrl' in target ? ['baseUrl'] : ['service', 'registry'];
  optionsChecker({
    where: 'ServiceClient target',
    keys,
    hints: { baseURL: 'baseUrl', url: 'baseUrl', name: 'service', serviceName: 'service' },
  })(target);
  if (!('baseUrl' in target) && !('service' in target)) {
    throw new InvalidOptionsError('target must be { baseUrl } or { service, registry }', {
      option: 'target',
    });
  }
  if (typeof options === 'string') {
    throw new InvalidOptionsError(
      'ServiceClient options must be an options object; the service name goes in the target: new ServiceClient({ service, registry }, options)',
      { option: 'options' },
    );
  }
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
  if (o.absoluteUrls === 'same-origin' && !('baseUrl' in target)) {
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
  const clock = o.clock as Partial<Clock> | undefined;
  if (clock !== undefined && (typeof clock?.now !== 'function' || typeof clock.monotonic !== 'function')) {
    throw new InvalidOptionsError('clock must have now() and monotonic()', { option: 'clock' });
  }
}
