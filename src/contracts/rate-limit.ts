/**
 * The port between {@link RateLimiter} and a store. An adapter does I/O
 * only; validation, namespacing, the insurance limiter and events live in
 * the primitive.
 *
 * Every operation is one atomic step on the store (one Lua script on
 * Redis) over all the limits of a request: a consume is taken from every
 * limit or from none. Times in answers are durations in ms from the
 * store's own "now", so the caller's clock never matters.
 *
 * @module
 */

/**
 * How a limit counts:
 * - `gcra`: the generic cell rate algorithm, a token bucket kept as one
 *   timestamp per key: exact, smooth, bursts up to `limit`;
 * - `sliding-window`: two fixed-window counters blended by the time elapsed
 *   in the current window (an estimate; see the guide for its error bound);
 * - `fixed-window`: a counter per window aligned to the epoch (allows up to
 *   twice the limit across a window boundary).
 *
 * @example
 * ```ts
 * const algorithm: RateLimitAlgorithm = 'gcra';
 * ```
 */
export type RateLimitAlgorithm = 'gcra' | 'sliding-window' | 'fixed-window';

/**
 * One limit as an adapter sees it: validated by the primitive (integers,
 * `limit * windowMs` at most 2^50, at most one limit per algorithm and
 * window in a request).
 *
 * @example
 * ```ts
 * const rule: RateLimitRule = { limit: 100, windowMs: 60_000, algorithm: 'gcra' };
 * ```
 */
export interface RateLimitRule {
  /** Units allowed per window. */
  readonly limit: number;
  /** The window, in ms. */
  readonly windowMs: number;
  /** How the limit counts. */
  readonly algorithm: RateLimitAlgorithm;
}

/**
 * What {@link RateLimitAdapter.peek} and {@link RateLimitAdapter.reset} are asked about.
 *
 * @example
 * ```ts
 * const request: RateLimitRequest = { key: 'api:ip:10.0.0.7', rules: [{ limit: 10, windowMs: 1_000, algorithm: 'gcra' }] };
 * ```
 */
export interface RateLimitRequest {
  /** The store key, namespaced by the primitive (`<limiter name>:<caller's key>`). */
  readonly key: string;
  /** The limits of the key, in a stable order (answers follow it). */
  readonly rules: readonly RateLimitRule[];
}

/**
 * What {@link RateLimitAdapter.consume} and {@link RateLimitAdapter.refund} are asked to do.
 *
 * @example
 * ```ts
 * await adapter.consume({ key: 'api:ip:10.0.0.7', rules, cost: 1 });
 * ```
 */
export interface RateLimitCostRequest extends RateLimitRequest {
  /** Units to take (or give back): an integer >= 1. */
  readonly cost: number;
}

/**
 * The state of one limit in an answer.
 *
 * @example
 * ```ts
 * const state: RateLimitRuleState = { remaining: 4, resetMs: 600, retryAfterMs: 0 };
 * ```
 */
export interface RateLimitRuleState {
  /** Units left now (after this consume, when it was allowed). */
  readonly remaining: number;
  /** Ms until the limit is fully restored (remaining back to `limit`). */
  readonly resetMs: number;
  /** Ms until the asked cost (1 for a peek) would be allowed by this limit; 0 when it is now. */
  readonly retryAfterMs: number;
}

/**
 * What {@link RateLimitAdapter.consume} and {@link RateLimitAdapter.peek} answer.
 *
 * @example
 * ```ts
 * const r: RateLimitAdapterResult = await adapter.consume(request);
 * if (!r.allowed) wait(Math.max(...r.rules.map((s) => s.retryAfterMs)));
 * ```
 */
export interface RateLimitAdapterResult {
  /** Whether every limit allowed the cost (for a peek: a cost of 1). */
  readonly allowed: boolean;
  /** One state per rule of the request, in its order. */
  readonly rules: readonly RateLimitRuleState[];
}

/**
 * A store of rate-limit state. Implement it to put limits on another back
 * end, and check the implementation with `rateLimitAdapterConformance`
 * from `scaleout/testing`.
 *
 * @example
 * ```ts
 * const adapter: RateLimitAdapter = memoryRateLimitAdapter();
 * const rules = [{ limit: 5, windowMs: 1_000, algorithm: 'gcra' as const }];
 * const r = await adapter.consume({ key: 'k', rules, cost: 1 });
 * ```
 */
export interface RateLimitAdapter {
  /**
   * Takes `cost` units from every rule of the key, in one atomic step, if
   * every rule has them; otherwise takes nothing. Throws (a
   * `ConnectionError` on a network back end) when the store cannot answer,
   * and `CorruptDataError` naming the key when the stored state is not what
   * the adapter writes.
   */
  consume(request: RateLimitCostRequest): Promise<RateLimitAdapterResult>;
  /** The state of every rule of the key, without taking anything; `allowed` says whether a cost of 1 would pass. */
  peek(request: RateLimitRequest): Promise<RateLimitAdapterResult>;
  /** Gives back up to `cost` units to every rule of the key (never beyond a full limit), in one atomic step. */
  refund(request: RateLimitCostRequest): Promise<void>;
  /** Forgets the key's state under every rule of the request. */
  reset(request: RateLimitRequest): Promise<void>;
  /** Releases the adapter's own resources (connections it created). */
  close(): Promise<void>;
}
