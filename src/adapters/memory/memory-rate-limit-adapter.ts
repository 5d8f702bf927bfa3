import type {
  RateLimitAdapter,
  RateLimitAdapterResult,
  RateLimitCostRequest,
  RateLimitRequest,
  RateLimitRule,
  RateLimitRuleState,
} from '../../contracts/rate-limit.js';
import { ClosedError, InvalidOptionsError } from '../../errors.js';
import { LruMap } from '../../internal/lru.js';
import { optionsChecker } from '../../internal/validate.js';
import { ruleSuffix } from '../../rate-limit/algorithm.js';
import { RATE_LIMIT_ALGORITHMS } from '../../rate-limit/algorithms.js';
import { checkRateLimitRequest } from '../../rate-limit/rate-limit-request.js';
import type { Clock } from '../../types.js';
import { systemClock } from '../../types.js';

/**
 * Options of {@link memoryRateLimitAdapter}.
 *
 * @example
 * ```ts
 * const adapter = memoryRateLimitAdapter({ maxKeys: 50_000 });
 * ```
 */
export interface MemoryRateLimitAdapterOptions {
  /** Time source; its `now()` places windows and TATs. @default systemClock */
  clock?: Clock;
  /**
   * Most (key, limit) states kept. Past it the least recently used state is
   * dropped, which forgets that key's use: bound memory against a flood of
   * distinct keys (spoofed IPs) at the price of exactness for the coldest keys.
   * @default 100_000
   */
  maxKeys?: number;
}

/**
 * Defaults of {@link MemoryRateLimitAdapterOptions}.
 *
 * @example
 * ```ts
 * memoryRateLimitAdapter({ maxKeys: MEMORY_RATE_LIMIT_ADAPTER_DEFAULTS.maxKeys * 2 });
 * ```
 */
export const MEMORY_RATE_LIMIT_ADAPTER_DEFAULTS = Object.freeze({
  /** States kept. */
  maxKeys: 100_000,
});

const checkOptions = optionsChecker({
  where: 'memoryRateLimitAdapter options',
  keys: ['clock', 'maxKeys'],
});

const suffixes = new WeakMap<RateLimitRule, string>();

function suffixOf(rule: RateLimitRule): string {
  let suffix = suffixes.get(rule);
  if (suffix === undefined) {
    suffix = ruleSuffix(rule.algorithm, rule.windowMs);
    if (Object.isFrozen(rule)) suffixes.set(rule, suffix);
  }
  return suffix;
}

/**
 * Rate limits inside one process: the default adapter of `RateLimiter`,
 * and its insurance limiter when the real store is down. Runs the same
 * algorithm functions the Redis script mirrors, on a bounded LRU map whose
 * entries expire when their state would read as empty anyway.
 *
 * @example
 * ```ts
 * const limiter = new RateLimiter({ adapter: memoryRateLimitAdapter(), limits: { limit: 10, windowMs: 1_000 } });
 * ```
 */
export class MemoryRateLimitAdapter implements RateLimitAdapter {
  readonly #clock: Clock;
  readonly #states: LruMap<string, unknown>;
  #closed = false;

  constructor(options: MemoryRateLimitAdapterOptions = {}) {
    checkOptions(options);
    this.#clock = options.clock ?? systemClock;
    if (typeof this.#clock?.now !== 'function') {
      throw new InvalidOptionsError('clock must have a now() function', { option: 'clock' });
    }
    const maxKeys = options.maxKeys ?? MEMORY_RATE_LIMIT_ADAPTER_DEFAULTS.maxKeys;
    if (typeof maxKeys !== 'number' || !Number.isSafeInteger(maxKeys) || maxKeys < 1) {
      throw new InvalidOptionsError('maxKeys must be an integer >= 1', { option: 'maxKeys' });
    }
    const clock = this.#clock;
    this.#states = new LruMap({ maxEntries: maxKeys, now: () => clock.now() });
  }

  /** States held (expired ones not yet reclaimed included). */
  get size(): number {
    return this.#states.size;
  }

  #checkOpen(): void {
    if (this.#closed) throw new ClosedError('rate limit adapter is closed');
  }

  async consume(request: RateLimitCostRequest): Promise<RateLimitAdapterResult> {
    this.#checkOpen();
    checkRateLimitRequest(request, true);
    const { key, rules, cost } = request;
    const now = this.#clock.now();
    if (rules.length === 1) {
      // The common case, without the arrays.
      const rule = rules[0]!;
      const name = `${key} ${suffixOf(rule)}`;
      const step = RATE_LIMIT_ALGORITHMS[rule.algorithm].consume(
        this.#states.get(name),
        now,
        rule.limit,
        rule.windowMs,
        cost,
      );
      if (step.outcome.allowed) this.#states.set(name, step.next, step.ttlMs);
      return { allowed: step.outcome.allowed, rules: [step.outcome] };
    }
    const names: string[] = [];
    const steps = [];
    let allowed = true;
    for (const rule of rules) {
      const name = `${key} ${suffixOf(rule)}`;
      const step = RATE_LIMIT_ALGORITHMS[rule.algorithm].consume(
        this.#states.get(name),
        now,
        rule.limit,
        rule.windowMs,
        cost,
      );
      names.push(name);
      steps.push(step);
      if (!step.outcome.allowed) allowed = false;
    }
    // All or none: state changes only when every limit allowed the cost.
    if (allowed) {
      for (let i = 0; i < steps.length; i++) this.#states.set(names[i]!, steps[i]!.next, steps[i]!.ttlMs);
      return { allowed, rules: steps.map((s) => s.outcome) };
    }
    // Denied by another limit: the limits that would have allowed the cost
    // answer their state as it stays, as the Lua script does.
    return {
      allowed,
      rules: steps.map((step, i) => {
        if (!step.outcome.allowed) return step.outcome;
        const rule = rules[i]!;
        const stays = RATE_LIMIT_ALGORITHMS[rule.algorithm].peek(
          this.#states.peek(names[i]!)?.value,
          now,
          rule.limit,
          rule.windowMs,
        );
        return { remaining: stays.remaining, resetMs: stays.resetMs, retryAfterMs: 0 };
      }),
    };
  }

  async peek(request: RateLimitRequest): Promise<RateLimitAdapterResult> {
    this.#checkOpen();
    checkRateLimitRequest(request, false);
    const now = this.#clock.now();
    const states: RateLimitRuleState[] = [];
    let allowed = true;
    for (const rule of request.rules) {
      const outcome = RATE_LIMIT_ALGORITHMS[rule.algorithm].peek(
        this.#states.peek(`${request.key} ${suffixOf(rule)}`)?.value,
        now,
        rule.limit,
        rule.windowMs,
      );
      if (!outcome.allowed) allowed = false;
      states.push(outcome);
    }
    return { allowed, rules: states };
  }

  async refund(request: RateLimitCostRequest): Promise<void> {
    this.#checkOpen();
    checkRateLimitRequest(request, true);
    const now = this.#clock.now();
    for (const rule of request.rules) {
      const name = `${request.key} ${suffixOf(rule)}`;
      const step = RATE_LIMIT_ALGORITHMS[rule.algorithm].refund(
        this.#states.peek(name)?.value,
        now,
        rule.limit,
        rule.windowMs,
        request.cost,
      );
      if (step.next === undefined) this.#states.delete(name);
      else this.#states.set(name, step.next, step.ttlMs);
    }
  }

  async reset(request: RateLimitRequest): Promise<void> {
    this.#checkOpen();
    checkRateLimitRequest(request, false);
    for (const rule of request.rules) this.#states.delete(`${request.key} ${suffixOf(rule)}`);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#states.clear();
  }
}

/**
 * Creates a {@link MemoryRateLimitAdapter}.
 *
 * @example
 * ```ts
 * const limiter = new RateLimiter({ adapter: memoryRateLimitAdapter(), limits: { limit: 100, windowMs: 60_000 } });
 * ```
 */
export function memoryRateLimitAdapter(options: MemoryRateLimitAdapterOptions = {}): MemoryRateLimitAdapter {
  return new MemoryRateLimitAdapter(options);
}
