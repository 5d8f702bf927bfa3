import type {
  RateLimitAdapter,
  RateLimitAdapterResult,
  RateLimitCostRequest,
  RateLimitRequest,
  RateLimitRule,
  RateLimitRuleState,
} from '../../contracts/rate-limit.js';
import { ClosedError, InvalidOptionsError } from '../../errors.js';
import { optionsChecker } from '../../internal/validate.js';
import { type RuleOutcome, ruleSuffix } from '../../rate-limit/algorithm.js';
import { RATE_LIMIT_ALGORITHMS } from '../../rate-limit/algorithms.js';
import { type GcraState, type GcraTaken, gcraTake, newGcraTaken } from '../../rate-limit/gcra.js';
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
   * Most keys kept (each with its state under every limit). Past it the
   * least recently used key is dropped, which forgets that key's use: bound
   * memory against a flood of distinct keys (spoofed IPs) at the price of
   * exactness for the coldest keys.
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
  /** Keys kept. */
  maxKeys: 100_000,
});

const checkOptions = optionsChecker({
  where: 'memoryRateLimitAdapter options',
  keys: ['clock', 'maxKeys'],
});

const suffixes = new WeakMap<RateLimitRule, string>();
/** Where {@link gcraTake} writes (read at once by the caller, before anything else runs). */
const NEXT: GcraTaken = newGcraTaken();

function suffixOf(rule: RateLimitRule): string {
  let suffix = suffixes.get(rule);
  if (suffix === undefined) {
    suffix = ruleSuffix(rule.algorithm, rule.windowMs);
    if (Object.isFrozen(rule)) suffixes.set(rule, suffix);
  }
  return suffix;
}

/** The state of one key under one rule. */
interface Slot {
  /** The rule's suffix (algorithm letter and window); `''` for the emptied first slot of a record. */
  suffix: string;
  state: unknown;
  /** When the state reads as empty anyway (clock.now() ms). */
  expiresAt: number;
}

/**
 * The states of one key, one slot per rule: the record is its first slot
 * (a key under one limit, the common case, is one object to reach), the
 * other rules' slots are in `more`.
 */
interface KeyRecord extends Slot {
  /** The slots of the other rules. */
  more: Slot[] | undefined;
  /** The latest expiry of its slots: past it the whole record is stale. */
  until: number;
  /** The access tick at which it last moved to the young end of the map. */
  seq: number;
}

/**
 * Rate limits inside one process: the default adapter of `RateLimiter`,
 * and its insurance limiter when the real store is down. Runs the same
 * algorithm functions the Redis script mirrors, over a map of keys bounded
 * by `maxKeys` (least recently used first out). A key's record holds one
 * state per limit; states are dropped lazily once they would read as empty
 * (on access, and by a sweep of the oldest record on each insert), never by
 * a timer.
 *
 * @example
 * ```ts
 * const limiter = new RateLimiter({ adapter: memoryRateLimitAdapter(), limits: { limit: 10, windowMs: 1_000 } });
 * ```
 */
export class MemoryRateLimitAdapter implements RateLimitAdapter {
  readonly #clock: Clock;
  readonly #systemClock: boolean;
  readonly #maxKeys: number;
  /** Map order is recency order, approximately: a record moves to the young end at most every `maxKeys / 4` accesses. */
  readonly #keys = new Map<string, KeyRecord>();
  #tick = 0;
  #closed = false;

  constructor(options: MemoryRateLimitAdapterOptions = {}) {
    checkOptions(options);
    this.#clock = options.clock ?? systemClock;
    this.#systemClock = this.#clock === systemClock;
    if (typeof this.#clock?.now !== 'function') {
      throw new InvalidOptionsError('clock must have a now() function', { option: 'clock' });
    }
    const maxKeys = options.maxKeys ?? MEMORY_RATE_LIMIT_ADAPTER_DEFAULTS.maxKeys;
    if (typeof maxKeys !== 'number' || !Number.isSafeInteger(maxKeys) || maxKeys < 1) {
      throw new InvalidOptionsError('maxKeys must be an integer >= 1', { option: 'maxKeys' });
    }
    this.#maxKeys = maxKeys;
  }

  /** Keys held (stale ones not yet reclaimed included). */
  get size(): number {
    return this.#keys.size;
  }

  #checkOpen(): void {
    if (this.#closed) throw new ClosedError('rate limit adapter is closed');
  }

  /** The live record of `key`, refreshed in recency when it is getting old; undefined when absent or stale. */
  #record(key: string): KeyRecord | undefined {
    const record = this.#keys.get(key);
    if (record === undefined) return undefined;
    // A record whose states have all run out is kept and reused (each stale
    // slot reads as empty and is overwritten): a hot key whose states keep
    // running out does not churn the map.
    const tick = ++this.#tick;
    if (tick - record.seq > this.#maxKeys >> 2) {
      this.#keys.delete(key);
      this.#keys.set(key, record);
      record.seq = tick;
    }
    return record;
  }

  #slot(record: KeyRecord | undefined, suffix: string): Slot | undefined {
    if (record === undefined) return undefined;
    if (record.suffix === suffix) return record;
    const more = record.more;
    if (more !== undefined) {
      for (let i = 0; i < more.length; i++) if (more[i]!.suffix === suffix) return more[i];
    }
    return undefined;
  }

  #stateOf(record: KeyRecord | undefined, suffix: string, now: number): unknown {
    const slot = this.#slot(record, suffix);
    return slot === undefined || slot.expiresAt <= now ? undefined : slot.state;
  }

  /** Stores `state` for `key` under `suffix`, creating the record (and making room) when needed. */
  #store(
    key: string,
    record: KeyRecord | undefined,
    suffix: string,
    state: unknown,
    expiresAt: number,
    now: number,
  ): KeyRecord {
    if (record === undefined) {
      record = { suffix, state, expiresAt, more: undefined, until: expiresAt, seq: ++this.#tick };
      this.#keys.set(key, record);
      this.#makeRoom(now);
      return record;
    }
    const slot = this.#slot(record, suffix);
    if (slot !== undefined) {
      slot.state = state;
      slot.expiresAt = expiresAt;
    } else if (record.suffix === '') {
      record.suffix = suffix;
      record.state = state;
      record.expiresAt = expiresAt;
    } else if (record.more === undefined) record.more = [{ suffix, state, expiresAt }];
    else record.more.push({ suffix, state, expiresAt });
    if (expiresAt > record.until) record.until = expiresAt;
    return record;
  }

  /** Drops the oldest record when stale (a sweep that keeps pace with inserts), then the oldest ones past `maxKeys`. */
  #makeRoom(now: number): void {
    for (let swept = 0; swept < 2; swept++) {
      const oldest = this.#keys.entries().next();
      if (oldest.done || oldest.value[1].until > now) break;
      this.#keys.delete(oldest.value[0]);
    }
    while (this.#keys.size > this.#maxKeys) {
      const oldest = this.#keys.keys().next();
      if (oldest.done) break;
      this.#keys.delete(oldest.value);
    }
  }

  async consume(request: RateLimitCostRequest): Promise<RateLimitAdapterResult> {
    checkRateLimitRequest(request, true);
    return this.consumeNow(request);
  }

  /**
   * @internal One limit's consume, synchronously, for a caller that checked
   * the key, rule and cost (`RateLimiter`'s hot path): no request, no
   * result object; the rule's outcome says whether it was allowed. For GCRA
   * the outcome is a scratch object, valid until the next call: read it at
   * once. `suffix` is the rule's (`ruleSuffix`), when the caller keeps it;
   * `checkNewKey`, when given, validates a key this adapter does not hold
   * yet (and throws), before anything is stored for it.
   */
  consumeRule(
    key: string,
    rule: RateLimitRule,
    cost: number,
    suffix = suffixOf(rule),
    checkNewKey?: (key: string) => void,
  ): RuleOutcome {
    this.#checkOpen();
    // The system clock read directly: a call through the clock object is not inlined here.
    const now = this.#systemClock ? Date.now() : this.#clock.now();
    const record = this.#record(key);
    // A key not held yet is checked before anything is stored for it (see RateLimiter's #hotKey).
    if (record === undefined && checkNewKey !== undefined) checkNewKey(key);
    if (rule.algorithm === 'gcra') {
      // GCRA keeps its state in place: a slot's state is this adapter's own object.
      const slot = this.#slot(record, suffix);
      const live = slot === undefined || slot.expiresAt <= now ? undefined : (slot.state as GcraState);
      gcraTake(live, now, rule.limit, rule.windowMs, cost, NEXT);
      if (!NEXT.allowed) return NEXT;
      const expiresAt = now + NEXT.ttlMs;
      if (slot === undefined) {
        this.#store(key, record, suffix, { tat: NEXT.tat, rem: NEXT.rem }, expiresAt, now);
      } else {
        const state = slot.state as { tat: number; rem: number };
        state.tat = NEXT.tat;
        state.rem = NEXT.rem;
        slot.expiresAt = expiresAt;
        if (expiresAt > record!.until) record!.until = expiresAt;
      }
      return NEXT;
    }
    const step = RATE_LIMIT_ALGORITHMS[rule.algorithm].consume(
      this.#stateOf(record, suffix, now),
      now,
      rule.limit,
      rule.windowMs,
      cost,
    );
    if (step.outcome.allowed) this.#store(key, record, suffix, step.next, now + step.ttlMs, now);
    return step.outcome;
  }

  /** @internal {@link consume} without the promise and without checking the request (the limiter's fast path). */
  consumeNow(request: RateLimitCostRequest): RateLimitAdapterResult {
    const { key, rules, cost } = request;
    if (rules.length === 1) {
      // The common case, without the arrays.
      const o = this.consumeRule(key, rules[0]!, cost);
      const outcome: RuleOutcome = {
        allowed: o.allowed,
        remaining: o.remaining,
        resetMs: o.resetMs,
        retryAfterMs: o.retryAfterMs,
      };
      return { allowed: outcome.allowed, rules: [outcome] };
    }
    this.#checkOpen();
    const now = this.#clock.now();
    let record = this.#record(key);
    const steps = rules.map((rule) =>
      RATE_LIMIT_ALGORITHMS[rule.algorithm].consume(
        this.#stateOf(record, suffixOf(rule), now),
        now,
        rule.limit,
        rule.windowMs,
        cost,
      ),
    );
    // All or none: state changes only when every limit allowed the cost.
    if (steps.every((step) => step.outcome.allowed)) {
      steps.forEach((step, i) => {
        record = this.#store(key, record, suffixOf(rules[i]!), step.next, now + step.ttlMs, now);
      });
      return { allowed: true, rules: steps.map((s) => s.outcome) };
    }
    // Denied by another limit: the limits that would have allowed the cost
    // answer their state as it stays, as the Lua script does.
    return {
      allowed: false,
      rules: steps.map((step, i) => {
        if (!step.outcome.allowed) return step.outcome;
        const rule = rules[i]!;
        const stays = RATE_LIMIT_ALGORITHMS[rule.algorithm].peek(
          this.#stateOf(record, suffixOf(rule), now),
          now,
          rule.limit,
          rule.windowMs,
        );
        return { remaining: stays.remaining, resetMs: stays.resetMs, retryAfterMs: 0 };
      }),
    };
  }

  async peek(request: RateLimitRequest): Promise<RateLimitAdapterResult> {
    checkRateLimitRequest(request, false);
    return this.peekNow(request);
  }

  /** @internal {@link peek} without the promise and without checking the request (see {@link consumeNow}). */
  peekNow(request: RateLimitRequest): RateLimitAdapterResult {
    this.#checkOpen();
    const now = this.#clock.now();
    const record = this.#record(request.key);
    const states: RateLimitRuleState[] = [];
    let allowed = true;
    for (const rule of request.rules) {
      const outcome = RATE_LIMIT_ALGORITHMS[rule.algorithm].peek(
        this.#stateOf(record, suffixOf(rule), now),
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
    let record = this.#record(request.key);
    for (const rule of request.rules) {
      const suffix = suffixOf(rule);
      const step = RATE_LIMIT_ALGORITHMS[rule.algorithm].refund(
        this.#stateOf(record, suffix, now),
        now,
        rule.limit,
        rule.windowMs,
        request.cost,
      );
      if (step.next !== undefined)
        record = this.#store(request.key, record, suffix, step.next, now + step.ttlMs, now);
      else this.#clear(request.key, record, suffix);
    }
  }

  #clear(key: string, record: KeyRecord | undefined, suffix: string): void {
    if (record === undefined) return;
    const more = record.more;
    if (record.suffix === suffix) {
      record.suffix = '';
      record.state = undefined;
      record.expiresAt = 0;
    } else if (more !== undefined) {
      const i = more.findIndex((slot) => slot.suffix === suffix);
      if (i !== -1) more.splice(i, 1);
    }
    if (record.suffix === '' && (more === undefined || more.length === 0)) this.#keys.delete(key);
  }

  async reset(request: RateLimitRequest): Promise<void> {
    this.#checkOpen();
    checkRateLimitRequest(request, false);
    const record = this.#keys.get(request.key);
    for (const rule of request.rules) this.#clear(request.key, record, suffixOf(rule));
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#keys.clear();
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
