import type { AxiosInstance } from 'axios';
import type { BackoffOptions } from '../internal/backoff.js';
import type { ServiceRegistry } from '../registry/service-registry.js';
import type { Clock, Logger } from '../types.js';
import type { BulkheadOptions } from './bulkhead.js';
import type { CircuitBreakerOptions } from './circuit-breaker.js';
import type { RetryBudgetOptions } from './retry-budget.js';
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
  /** Retry budget of the upstream, or `false` for none. @default { ratio: 0.1, minRetriesPerSecond: 1, maxTokens: 10 } */
  retryBudget?: RetryBudgetOptions | false;
  /** Circuit breaker of each upstream instance, or `false` for none. @default see {@link CircuitBreakerOptions} */
  breaker?: Omit<CircuitBreakerOptions, 'onStateChange' | 'clock'> | false;
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
} as const;
