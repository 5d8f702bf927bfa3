import type { RateLimitAdapter, RateLimitAlgorithm } from '../contracts/rate-limit.js';
import { InvalidOptionsError } from '../errors.js';
import { durationOption, optionsChecker } from '../internal/validate.js';
import type { BaseOptions, Clock, Logger } from '../types.js';
import { MAX_LIMIT_TIMES_WINDOW } from './algorithm.js';
import { MAX_RULES } from './rate-limit-request.js';

/**
 * One limit of a {@link RateLimiter}: `limit` units per `windowMs`.
 *
 * @example
 * ```ts
 * const perSecond: RateLimitOptions = { limit: 10, windowMs: 1_000 };
 * const perHour: RateLimitOptions = { limit: 1_000, windowMs: 3_600_000, algorithm: 'sliding-window', name: 'hourly' };
 * ```
 */
export interface RateLimitOptions {
  /** Units allowed per window: an integer >= 1 (`limit * windowMs` at most 2^50). */
  limit: number;
  /** The window, ms: an integer in [1, one year]. */
  windowMs: number;
  /** How the limit counts. @default 'gcra' */
  algorithm?: RateLimitAlgorithm;
  /**
   * The policy's name in the `RateLimit-Policy` / `RateLimit` headers:
   * letters, digits, `_`, `-`, `.`, at most 64.
   * @default the limiter's `name`, with `-<index>` when it has several limits
   */
  name?: string;
}

/**
 * Options of {@link RateLimiter}.
 *
 * @example
 * ```ts
 * const options: RateLimiterOptions = {
 *   adapter: redisRateLimitAdapter({ connection: redis }),
 *   name: 'api',
 *   limits: [{ limit: 10, windowMs: 1_000 }, { limit: 1_000, windowMs: 3_600_000 }],
 *   instances: 4,
 * };
 * ```
 */
export interface RateLimiterOptions extends BaseOptions<RateLimitAdapter> {
  /** Where state lives. @default a new in-memory adapter (one process only), closed by `close()` */
  adapter?: RateLimitAdapter;
  /** One limit, or several taken together (a consume takes from all or from none). Required. */
  limits: RateLimitOptions | readonly RateLimitOptions[];
  /**
   * The limiter's namespace in the store: keys are `<name>:<key>`, so
   * limiters sharing an adapter never share counts. Letters, digits, `_`,
   * `-`, `.`, at most 64.
   * @default 'default'
   */
  name?: string;
  /**
   * When the adapter fails or times out: `true` answers from an in-process
   * insurance limiter (the same limits divided by `instances`), emits
   * `error` and `fallback`, and returns to the adapter by itself once a
   * probe succeeds; `false` rejects with the adapter's `ConnectionError` or
   * a `TimeoutError`.
   * @default true
   */
  failOpen?: boolean;
  /**
   * How many processes share the limits: while the adapter is down each
   * process allows `floor(limit / instances)` (at least 1) per window, so
   * that together they stay within the limit.
   * @default 1
   */
  instances?: number;
  /**
   * An adapter call slower than this counts as failed (fail-open applies),
   * ms; a consume or peek is found late by a sweep every tenth of it, so up
   * to a tenth later. @default 500
   */
  operationTimeoutMs?: number;
  /** While on the insurance limiter, the least time between two probes of the adapter, ms. @default 1_000 */
  probeIntervalMs?: number;
  /** Most keys the insurance limiter keeps (least recently used first out). @default 100_000 */
  insuranceMaxKeys?: number;
  /** Longest key accepted (without the limiter's name), characters. @default 1_024 */
  maxKeyLength?: number;
  /** Receives listener failures. @default no logging */
  logger?: Logger;
  /** Time source of the default adapter, the insurance limiter and the probes. @default systemClock */
  clock?: Clock;
}

/**
 * Defaults of {@link RateLimiterOptions}.
 *
 * @example
 * ```ts
 * new RateLimiter({ limits: { limit: 5, windowMs: 1_000 }, operationTimeoutMs: RATE_LIMITER_DEFAULTS.operationTimeoutMs * 2 });
 * ```
 */
export const RATE_LIMITER_DEFAULTS = Object.freeze({
  /** Default of {@link RateLimitOptions.algorithm}. */
  algorithm: 'gcra' as RateLimitAlgorithm,
  /** Default of {@link RateLimiterOptions.name}. */
  name: 'default',
  /** Default of {@link RateLimiterOptions.failOpen}. */
  failOpen: true,
  /** Default of {@link RateLimiterOptions.instances}. */
  instances: 1,
  /** Default of {@link RateLimiterOptions.operationTimeoutMs}. */
  operationTimeoutMs: 500,
  /** Default of {@link RateLimiterOptions.probeIntervalMs}. */
  probeIntervalMs: 1_000,
  /** Default of {@link RateLimiterOptions.insuranceMaxKeys}. */
  insuranceMaxKeys: 100_000,
  /** Default of {@link RateLimiterOptions.maxKeyLength}. */
  maxKeyLength: 1_024,
});

/**
 * One limit as the limiter runs it: options resolved and frozen.
 *
 * @example
 * ```ts
 * for (const p of limiter.policies) console.log(`${p.name}: ${p.limit} per ${p.windowMs} ms (${p.algorithm})`);
 * ```
 */
export interface RateLimitPolicy {
  /** The policy's name (headers, events). */
  readonly name: string;
  /** Units allowed per window. */
  readonly limit: number;
  /** The window, ms. */
  readonly windowMs: number;
  /** How the limit counts. */
  readonly algorithm: RateLimitAlgorithm;
}

/** @internal Options with defaults applied and validated. */
export interface ResolvedRateLimiterOptions {
  readonly name: string;
  readonly policies: readonly RateLimitPolicy[];
  readonly failOpen: boolean;
  readonly instances: number;
  readonly operationTimeoutMs: number;
  readonly probeIntervalMs: number;
  readonly insuranceMaxKeys: number;
  readonly maxKeyLength: number;
}

const checkOptions = optionsChecker({
  where: 'RateLimiter options',
  keys: [
    'adapter',
    'limits',
    'name',
    'failOpen',
    'instances',
    'operationTimeoutMs',
    'probeIntervalMs',
    'insuranceMaxKeys',
    'maxKeyLength',
    'logger',
    'clock',
  ],
  hints: {
    limit: 'limits',
    rules: 'limits',
    max: 'limits',
    store: 'adapter',
    timeoutMs: 'operationTimeoutMs',
  },
});

const checkLimit = optionsChecker({
  where: 'a RateLimiter limit',
  keys: ['limit', 'windowMs', 'algorithm', 'name'],
  hints: { max: 'limit', points: 'limit', duration: 'windowMs', window: 'windowMs', interval: 'windowMs' },
  bareNumber: 'limit',
});

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const ALGORITHMS: readonly string[] = ['gcra', 'sliding-window', 'fixed-window'];

function integerOption(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionsError(`${name} must be an integer in [${min}, ${max}]`, { option: name });
  }
  return value;
}

function resolvePolicy(value: unknown, index: number, count: number, limiterName: string): RateLimitPolicy {
  const option = count === 1 ? 'limits' : `limits[${index}]`;
  if (typeof value === 'number') {
    throw new InvalidOptionsError(
      `${option} must be { limit, windowMs }, got a bare number: pass { limit: ${Number.isFinite(value) ? value : '<units>'}, windowMs: <milliseconds> }`,
      { option: `${option}.limit` },
    );
  }
  checkLimit(value);
  if (value === undefined) throw new InvalidOptionsError(`${option} must be { limit, windowMs }`, { option });
  const o = value as RateLimitOptions;
  const limit = integerOption(`${option}.limit`, o.limit, 1, MAX_LIMIT_TIMES_WINDOW);
  const windowMs = durationOption(`${option}.windowMs`, o.windowMs);
  if (limit * windowMs > MAX_LIMIT_TIMES_WINDOW) {
    throw new InvalidOptionsError(
      `${option}: limit * windowMs must be at most 2^50 (${MAX_LIMIT_TIMES_WINDOW}); use a shorter window or a smaller limit`,
      { option: `${option}.limit` },
    );
  }
  const algorithm = o.algorithm ?? RATE_LIMITER_DEFAULTS.algorithm;
  if (typeof algorithm !== 'string' || !ALGORITHMS.includes(algorithm)) {
    throw new InvalidOptionsError(`${option}.algorithm must be one of ${ALGORITHMS.join(', ')}`, {
      option: `${option}.algorithm`,
    });
  }
  const name = o.name ?? (count === 1 ? limiterName : `${limiterName}-${index}`);
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new InvalidOptionsError(`${option}.name must be 1 to 64 letters, digits, "_", "-" or "."`, {
      option: `${option}.name`,
    });
  }
  return Object.freeze({ name, limit, windowMs, algorithm });
}

/** @internal */
export function resolveRateLimiterOptions(options: RateLimiterOptions): ResolvedRateLimiterOptions {
  if (options === undefined) {
    throw new InvalidOptionsError('RateLimiter needs options: { limits: { limit, windowMs } }', {
      option: 'limits',
    });
  }
  checkOptions(options);
  const d = RATE_LIMITER_DEFAULTS;
  const name = options.name ?? d.name;
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new InvalidOptionsError('name must be 1 to 64 letters, digits, "_", "-" or "."', {
      option: 'name',
    });
  }
  const raw = options.limits;
  if (raw === undefined || raw === null) {
    throw new InvalidOptionsError('limits is required: { limit, windowMs } or an array of them', {
      option: 'limits',
    });
  }
  const list: readonly unknown[] = Array.isArray(raw) ? raw : [raw];
  if (list.length === 0 || list.length > MAX_RULES) {
    throw new InvalidOptionsError(`limits must hold 1 to ${MAX_RULES} limits`, { option: 'limits' });
  }
  // Array.from reads a hole of a sparse array as undefined (refused), where map() would skip it.
  const policies = Array.from(list, (value, i) => resolvePolicy(value, i, list.length, name));
  const seen = new Set<string>();
  for (const p of policies) {
    const id = `${p.algorithm} ${p.windowMs}`;
    const label = `"${p.name}"`;
    if (seen.has(id)) {
      throw new InvalidOptionsError(
        `limits: two limits use ${p.algorithm} over ${p.windowMs} ms (${label}): keep the smaller one, or change a window`,
        { option: 'limits' },
      );
    }
    seen.add(id);
  }
  if (new Set(policies.map((p) => p.name)).size !== policies.length) {
    throw new InvalidOptionsError('limits: two limits have the same name', { option: 'limits' });
  }
  const failOpen = options.failOpen ?? d.failOpen;
  if (typeof failOpen !== 'boolean') {
    throw new InvalidOptionsError('failOpen must be a boolean', { option: 'failOpen' });
  }
  if (
    options.adapter !== undefined &&
    typeof (options.adapter as { consume?: unknown } | null)?.consume !== 'function'
  ) {
    throw new InvalidOptionsError(
      'adapter must implement RateLimitAdapter (consume, peek, refund, reset, close)',
      {
        option: 'adapter',
      },
    );
  }
  if (options.logger !== undefined && (typeof options.logger !== 'object' || options.logger === null)) {
    throw new InvalidOptionsError('logger must be an object with debug/info/warn/error methods', {
      option: 'logger',
    });
  }
  const clock = options.clock as { now?: unknown; monotonic?: unknown } | undefined;
  if (clock !== undefined && (typeof clock?.now !== 'function' || typeof clock.monotonic !== 'function')) {
    throw new InvalidOptionsError('clock must have now() and monotonic()', { option: 'clock' });
  }
  return Object.freeze({
    name,
    policies: Object.freeze(policies),
    failOpen,
    instances: integerOption('instances', options.instances ?? d.instances, 1, 100_000),
    operationTimeoutMs: durationOption(
      'operationTimeoutMs',
      options.operationTimeoutMs ?? d.operationTimeoutMs,
    ),
    probeIntervalMs: durationOption('probeIntervalMs', options.probeIntervalMs ?? d.probeIntervalMs),
    insuranceMaxKeys: integerOption(
      'insuranceMaxKeys',
      options.insuranceMaxKeys ?? d.insuranceMaxKeys,
      1,
      100_000_000,
    ),
    maxKeyLength: integerOption('maxKeyLength', options.maxKeyLength ?? d.maxKeyLength, 1, 65_536),
  });
}
