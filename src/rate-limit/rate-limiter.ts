import {
  MemoryRateLimitAdapter,
  memoryRateLimitAdapter,
} from '../adapters/memory/memory-rate-limit-adapter.js';
import type {
  RateLimitAdapter,
  RateLimitAdapterResult,
  RateLimitCostRequest,
  RateLimitRequest,
  RateLimitRule,
} from '../contracts/rate-limit.js';
import {
  ConnectionError,
  CorruptDataError,
  InvalidArgumentError,
  isScaleoutError,
  TimeoutError,
} from '../errors.js';
import { TypedEmitter } from '../internal/events.js';
import { Lifecycle } from '../internal/lifecycle.js';
import { abortedError } from '../internal/timers.js';
import { keyArgument } from '../internal/validate.js';
import type { Clock } from '../types.js';
import { systemClock } from '../types.js';
import { DEADLINES, isOutage, noop, withDeadline } from './adapter-call.js';
import { ruleSuffix } from './algorithm.js';
import { InsuranceLimiter } from './insurance-limiter.js';
import {
  checkConsumeOptions,
  checkPeekOptions,
  checkSignal,
  type RateLimitConsumeOptions,
  type RateLimitPeekOptions,
} from './rate-limit-call-options.js';
import { type RateLimitDecision, ruleDecision, toDecision } from './rate-limit-decision.js';
import type { RateLimiterEvents } from './rate-limiter-events.js';
import {
  type RateLimiterOptions,
  type RateLimitPolicy,
  type ResolvedRateLimiterOptions,
  resolveRateLimiterOptions,
} from './rate-limiter-options.js';

type Operation = 'consume' | 'peek' | 'refund' | 'reset';

/**
 * Exact rate limits shared by every instance of a service: GCRA (the
 * default: a token bucket kept as one timestamp per key, smooth and exact),
 * sliding or fixed windows, one or several limits per key taken together
 * (all or none), on an adapter: `redisRateLimitAdapter` decides in one
 * round trip with the Redis server's clock; the memory adapter serves one
 * process.
 *
 * A denial is an answer (`allowed: false` with `retryAfterMs`), never an
 * error. When the adapter is down or slower than `operationTimeoutMs`,
 * decisions come from an in-process insurance limiter at the limits divided
 * by `instances` (unless `failOpen: false`), with `error` and `fallback`
 * events, until a background probe finds the adapter back.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { RateLimiter } from 'scaleout';
 * import { redisRateLimitAdapter } from 'scaleout/redis';
 *
 * const limiter = new RateLimiter({
 *   adapter: redisRateLimitAdapter({ connection: new Redis(process.env.REDIS_URL!) }),
 *   name: 'orders',
 *   limits: [{ limit: 10, windowMs: 1_000 }, { limit: 1_000, windowMs: 3_600_000 }],
 *   instances: 4,
 * });
 * const decision = await limiter.consume(`customer:${customerId}`);
 * if (!decision.allowed) throw new Error(`slow down: retry in ${decision.retryAfterMs} ms`);
 * ```
 */
export class RateLimiter {
  readonly #s: ResolvedRateLimiterOptions;
  readonly #adapter: RateLimitAdapter;
  readonly #ownsAdapter: boolean;
  /** An in-process adapter cannot have an outage: it is called directly, without deadline or insurance. */
  readonly #direct: MemoryRateLimitAdapter | undefined;
  readonly #rules: readonly RateLimitRule[];
  /**
   * The namespace of keys in the adapter: `<name>:`, or none in a memory
   * adapter the limiter created (it holds this limiter's keys alone).
   */
  readonly #prefix: string;
  /** The one limit of a single-limit limiter on a memory adapter: its hot path. */
  readonly #single: { rule: RateLimitRule; policy: RateLimitPolicy; suffix: string } | undefined;
  readonly #minLimit: number;
  readonly #insurance: InsuranceLimiter;
  readonly #events: TypedEmitter<RateLimiterEvents>;
  readonly #life = new Lifecycle('the rate limiter');

  /**
   * Validates `options` (`InvalidOptionsError` naming the option: unknown
   * keys, a bare number where a limit goes, limits out of range).
   *
   * @example
   * ```ts
   * const limiter = new RateLimiter({ limits: { limit: 5, windowMs: 60_000 }, name: 'login' });
   * ```
   */
  constructor(options: RateLimiterOptions) {
    this.#s = resolveRateLimiterOptions(options);
    const clock: Clock = options.clock ?? systemClock;
    this.#ownsAdapter = options.adapter === undefined;
    this.#adapter = options.adapter ?? memoryRateLimitAdapter({ clock });
    this.#direct = this.#adapter instanceof MemoryRateLimitAdapter ? this.#adapter : undefined;
    this.#rules = Object.freeze(
      this.#s.policies.map((p) =>
        Object.freeze({ limit: p.limit, windowMs: p.windowMs, algorithm: p.algorithm }),
      ),
    );
    this.#minLimit = Math.min(...this.#rules.map((r) => r.limit));
    this.#prefix = this.#ownsAdapter && this.#direct !== undefined ? '' : `${this.#s.name}:`;
    this.#single =
      this.#direct !== undefined && this.#rules.length === 1
        ? {
            rule: this.#rules[0]!,
            policy: this.#s.policies[0]!,
            suffix: ruleSuffix(this.#rules[0]!.algorithm, this.#rules[0]!.windowMs),
          }
        : undefined;
    this.#insurance = new InsuranceLimiter({
      policies: this.#s.policies,
      instances: this.#s.instances,
      maxKeys: this.#s.insuranceMaxKeys,
      probeIntervalMs: this.#s.probeIntervalMs,
      clock,
    });
    this.#events = new TypedEmitter(options.logger);
  }

  /** The limiter's name: its namespace in the store. */
  get name(): string {
    return this.#s.name;
  }

  /** The limits, resolved, in order. */
  get policies(): readonly RateLimitPolicy[] {
    return this.#s.policies;
  }

  /** The adapter in use (the limiter closes it only when it created it). */
  get adapter(): RateLimitAdapter {
    return this.#adapter;
  }

  /** Whether decisions currently come from the in-process insurance limiter. */
  get degraded(): boolean {
    return this.#insurance.down;
  }

  /**
   * Subscribes to an event; returns a function that unsubscribes.
   *
   * @example
   * ```ts
   * const off = limiter.on('denied', ({ key }) => metrics.limited.inc({ key }));
   * off();
   * ```
   */
  on<K extends keyof RateLimiterEvents>(
    event: K,
    listener: (payload: RateLimiterEvents[K]) => void,
  ): () => void {
    return this.#events.on(event, listener);
  }

  /**
   * Unsubscribes a listener added with {@link on}.
   *
   * @example
   * ```ts
   * limiter.off('error', onError);
   * ```
   */
  off<K extends keyof RateLimiterEvents>(event: K, listener: (payload: RateLimiterEvents[K]) => void): void {
    this.#events.off(event, listener);
  }

  #key(key: unknown): string {
    this.#life.assertOpen();
    const checked = keyArgument('key', key, this.#s.maxKeyLength);
    return this.#prefix === '' ? checked : this.#prefix + checked;
  }

  #cost(cost: unknown): number {
    if (typeof cost !== 'number' || !Number.isInteger(cost) || cost < 1 || cost > this.#minLimit) {
      throw new InvalidArgumentError(
        `cost must be an integer in [1, ${this.#minLimit}] (the smallest limit: a larger cost could never be allowed)`,
        { argument: 'cost' },
      );
    }
    return cost;
  }

  /**
   * Takes `cost` units (default 1) for `key` from every limit, or from none
   * when any limit lacks them. Resolves to the decision; a denial is an
   * answer (`allowed: false`, `retryAfterMs`), not an error. Rejects with
   * `InvalidArgumentError` (bad key or cost), `ClosedError`,
   * `AbortedError`, `CorruptDataError` (the key's stored state is foreign:
   * `reset(key)` clears it), or, with `failOpen: false`, the adapter's
   * `ConnectionError` / a `TimeoutError`.
   *
   * @example
   * ```ts
   * const { allowed, retryAfterMs } = await limiter.consume(`ip:${ip}`);
   * const bulk = await limiter.consume(`user:${id}`, { cost: 10 });
   * ```
   */
  consume(key: string, options?: RateLimitConsumeOptions): Promise<RateLimitDecision> {
    let request: RateLimitCostRequest;
    let signal: AbortSignal | undefined;
    try {
      const full = this.#key(key);
      checkConsumeOptions(options);
      const cost = options?.cost === undefined ? 1 : this.#cost(options.cost);
      signal = checkSignal(options?.signal);
      const single = this.#single;
      if (single !== undefined) {
        // One limit in memory: no request, no adapter result, one decision.
        const outcome = this.#direct!.consumeRule(full, single.rule, cost, single.suffix);
        return Promise.resolve(
          this.#denied(key, ruleDecision(outcome, outcome.allowed, single.policy, 'adapter')),
        );
      }
      request = { key: full, rules: this.#rules, cost };
      if (this.#direct !== undefined) {
        return Promise.resolve(
          this.#denied(key, toDecision(this.#direct.consumeNow(request), this.#s.policies, 'adapter')),
        );
      }
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#decide('consume', key, request, signal);
  }

  /**
   * The state of `key` under every limit, without taking anything:
   * `allowed` says whether a cost of 1 would pass now. Rejects like
   * {@link consume}.
   *
   * @example
   * ```ts
   * const { remaining, resetMs } = await limiter.peek(`ip:${ip}`);
   * ```
   */
  peek(key: string, options?: RateLimitPeekOptions): Promise<RateLimitDecision> {
    let request: RateLimitRequest;
    let signal: AbortSignal | undefined;
    try {
      const full = this.#key(key);
      checkPeekOptions(options);
      signal = checkSignal(options?.signal);
      request = { key: full, rules: this.#rules };
      if (this.#direct !== undefined) {
        return Promise.resolve(toDecision(this.#direct.peekNow(request), this.#s.policies, 'adapter'));
      }
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#decide('peek', key, request, signal);
  }

  /**
   * Gives back up to `cost` units (default 1) to every limit of `key`
   * (never beyond a full limit): for work that was counted but not done.
   * While the adapter is down (fail-open) the refund goes to the insurance
   * limiter, with an `error` event.
   *
   * @example
   * ```ts
   * const decision = await limiter.consume(key);
   * if (decision.allowed && (await handle()).cached) await limiter.refund(key);
   * ```
   */
  async refund(key: string, cost = 1): Promise<void> {
    const full = this.#key(key);
    const request: RateLimitCostRequest = { key: full, rules: this.#rules, cost: this.#cost(cost) };
    if (this.#direct !== undefined) return this.#direct.refund(request);
    const insured: RateLimitCostRequest = { key: full, rules: this.#insurance.rules, cost: request.cost };
    if (this.#insurance.down) {
      this.#probe(key, full);
      return this.#insurance.adapter.refund(insured);
    }
    try {
      await withDeadline(this.#adapter.refund(request), this.#s.operationTimeoutMs, 'rate limit refund');
    } catch (err) {
      this.#failed('refund', key, err);
      await this.#insurance.adapter.refund(insured);
    }
  }

  /**
   * Forgets `key` under every limit, in the adapter and in the insurance
   * limiter (also the way to clear a key whose stored state is foreign).
   * Rejects when the adapter cannot be reached, whatever `failOpen` says:
   * a reset that did not happen must not look done.
   *
   * @example
   * ```ts
   * await limiter.reset(`login:${email}`); // after a successful password reset
   * ```
   */
  async reset(key: string): Promise<void> {
    const full = this.#key(key);
    await this.#insurance.adapter.reset({ key: full, rules: this.#insurance.rules });
    const request: RateLimitRequest = { key: full, rules: this.#rules };
    if (this.#direct !== undefined) return this.#direct.reset(request);
    try {
      await withDeadline(this.#adapter.reset(request), this.#s.operationTimeoutMs, 'rate limit reset');
    } catch (err) {
      this.#events.emit('error', { operation: 'reset', key, error: err });
      throw isScaleoutError(err) ? err : new ConnectionError('rate limit reset failed', { cause: err });
    }
  }

  /** Emits `denied` for a denied consume (when anyone listens); returns the decision. */
  #denied(key: string, decision: RateLimitDecision): RateLimitDecision {
    if (!decision.allowed && this.#events.has('denied')) this.#events.emit('denied', { key, decision });
    return decision;
  }

  /**
   * A consume or peek through the adapter, within `operationTimeoutMs` and
   * the caller's signal; through the insurance limiter while the adapter is
   * down, or when this call finds it down (fail-open). One promise, no
   * async layers: this is the hot path.
   */
  #decide(
    operation: 'consume' | 'peek',
    key: string,
    request: RateLimitRequest | RateLimitCostRequest,
    signal: AbortSignal | undefined,
  ): Promise<RateLimitDecision> {
    if (this.#insurance.down) {
      this.#probe(key, request.key);
      return this.#insured(operation, key, request);
    }
    let call: Promise<RateLimitAdapterResult>;
    try {
      call =
        operation === 'consume'
          ? this.#adapter.consume(request as RateLimitCostRequest)
          : this.#adapter.peek(request);
    } catch (err) {
      call = Promise.reject(err);
    }
    const timeoutMs = this.#s.operationTimeoutMs;
    return new Promise<RateLimitDecision>((resolve, reject) => {
      let done = false;
      const finish = () => {
        done = true;
        DEADLINES.cancel(deadline);
        signal?.removeEventListener('abort', onAbort);
      };
      const fail = (err: unknown) => {
        if (done) return;
        finish();
        call.catch(noop);
        try {
          this.#failed(operation, key, err);
        } catch (typed) {
          reject(typed);
          return;
        }
        this.#insured(operation, key, request).then(resolve, reject);
      };
      const onAbort = () => {
        if (done) return;
        finish();
        call.catch(noop);
        reject(abortedError(signal!));
      };
      const deadline = DEADLINES.add(timeoutMs, () =>
        fail(new TimeoutError(`rate limit ${operation} timed out after ${timeoutMs} ms`, { timeoutMs })),
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      call.then((result) => {
        if (done) return;
        finish();
        let decision: RateLimitDecision;
        try {
          decision = toDecision(result, this.#s.policies, 'adapter');
        } catch (err) {
          reject(
            new CorruptDataError(`rate limit ${operation}: the adapter answered in an unexpected shape`, {
              cause: err,
            }),
          );
          return;
        }
        resolve(operation === 'consume' ? this.#denied(key, decision) : decision);
      }, fail);
    });
  }

  /** The insurance limiter's decision. */
  async #insured(
    operation: 'consume' | 'peek',
    key: string,
    request: RateLimitRequest | RateLimitCostRequest,
  ): Promise<RateLimitDecision> {
    const insurance = this.#insurance;
    const insured = {
      key: request.key,
      rules: insurance.rules,
      cost: (request as RateLimitCostRequest).cost,
    };
    if (operation === 'peek')
      return toDecision(insurance.adapter.peekNow(insured), insurance.policies, 'insurance');
    return this.#denied(
      key,
      toDecision(insurance.adapter.consumeNow(insured), insurance.policies, 'insurance'),
    );
  }

  /**
   * An adapter call failed: a data or call error is rethrown as it is
   * (after an `error` event); an outage, with `failOpen`, switches to the
   * insurance limiter (the caller then answers from it), else is rethrown
   * as a typed error.
   */
  #failed(operation: Operation, key: string, err: unknown): void {
    const outage = isOutage(err);
    const error =
      outage && !isScaleoutError(err)
        ? new ConnectionError(`rate limit ${operation} failed`, { cause: err })
        : err;
    this.#events.emit('error', { operation, key, error });
    if (!outage || !this.#s.failOpen) throw error;
    if (this.#insurance.trip()) this.#events.emit('fallback', { error });
  }

  /** While down: sends a background peek to the adapter when a probe is due; it answers, the limiter is back. */
  #probe(key: string, full: string): void {
    const insurance = this.#insurance;
    if (!insurance.probeDue()) return;
    let call: Promise<unknown>;
    try {
      call = this.#adapter.peek({ key: full, rules: this.#rules });
    } catch (err) {
      call = Promise.reject(err); // a third-party adapter that throws instead of rejecting
    }
    withDeadline(call, this.#s.operationTimeoutMs, 'rate limit probe').then(
      () => {
        const downMs = insurance.probed(true);
        if (downMs !== undefined) this.#events.emit('recovered', { downMs });
      },
      (error: unknown) => {
        // A data error still proves the adapter answers.
        const downMs = insurance.probed(!isOutage(error));
        if (downMs !== undefined) this.#events.emit('recovered', { downMs });
        else this.#events.emit('error', { operation: 'probe', key, error });
      },
    );
  }

  /**
   * Stops the limiter: later calls reject with `ClosedError`. Closes the
   * adapter only when the limiter created it (no `adapter` option), and the
   * insurance limiter. Idempotent.
   *
   * @example
   * ```ts
   * await limiter.close();
   * ```
   */
  close(): Promise<void> {
    return this.#life.close(async () => {
      await this.#insurance.close();
      if (this.#ownsAdapter) await this.#adapter.close();
      this.#events.clear();
    });
  }

  /**
   * `await using limiter = new RateLimiter(...)` closes it at the end of the scope.
   *
   * @example
   * ```ts
   * await using limiter = new RateLimiter({ limits: { limit: 5, windowMs: 1_000 } });
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
