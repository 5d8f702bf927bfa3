import { MemoryRateLimitAdapter } from '../adapters/memory/memory-rate-limit-adapter.js';
import type { RateLimitRule } from '../contracts/rate-limit.js';
import type { Clock } from '../types.js';
import type { RateLimitPolicy } from './rate-limiter-options.js';

/**
 * Options of {@link InsuranceLimiter}.
 *
 * @example
 * ```ts
 * const insurance = new InsuranceLimiter({ policies, instances: 4, maxKeys: 100_000, probeIntervalMs: 1_000, clock });
 * ```
 */
export interface InsuranceLimiterOptions {
  /** The limiter's limits. */
  readonly policies: readonly RateLimitPolicy[];
  /** Processes sharing the limits: each allows `floor(limit / instances)`, at least 1. */
  readonly instances: number;
  /** Most keys kept. */
  readonly maxKeys: number;
  /** Least time between two probes of the real adapter, ms. */
  readonly probeIntervalMs: number;
  /** Time source. */
  readonly clock: Clock;
}

/**
 * The fail-open side of a {@link RateLimiter} (after rate-limiter-flexible's
 * insurance limiter): while the real adapter is down, each key is limited
 * in process at the same limits divided by the expected number of
 * instances, so the fleet as a whole stays near the limit instead of
 * letting everything through (or refusing everything).
 *
 * It is a small state machine: `up` (the adapter answers; nothing here is
 * used) and `down` (since an outage was seen; decisions come from here at
 * once, without waiting on the adapter, and at most one probe of the
 * adapter runs per `probeIntervalMs`, in the background; the first probe
 * that answers switches back to `up`).
 *
 * @example
 * ```ts
 * if (insurance.down) return insurance.adapter.consume({ key, rules: insurance.rules, cost });
 * ```
 */
export class InsuranceLimiter {
  /** The in-process store of the insurance limits. */
  readonly adapter: MemoryRateLimitAdapter;
  /** The limits divided by the instance count, in the limiter's order. */
  readonly rules: readonly RateLimitRule[];
  /** The same as policies (for decisions: they report the limits actually applied). */
  readonly policies: readonly RateLimitPolicy[];
  readonly #clock: Clock;
  readonly #probeIntervalMs: number;
  #down = false;
  #downSince = 0;
  #nextProbeAt = 0;
  #probing = false;

  constructor(options: InsuranceLimiterOptions) {
    this.#clock = options.clock;
    this.#probeIntervalMs = options.probeIntervalMs;
    this.adapter = new MemoryRateLimitAdapter({ clock: options.clock, maxKeys: options.maxKeys });
    this.policies = Object.freeze(
      options.policies.map((p) =>
        Object.freeze({ ...p, limit: Math.max(1, Math.floor(p.limit / options.instances)) }),
      ),
    );
    this.rules = Object.freeze(
      this.policies.map((p) =>
        Object.freeze({ limit: p.limit, windowMs: p.windowMs, algorithm: p.algorithm }),
      ),
    );
  }

  /** Whether decisions come from here (the adapter was seen down and has not answered a probe since). */
  get down(): boolean {
    return this.#down;
  }

  /** Records an outage of the adapter; true when this switched to `down` (the caller emits `fallback`). */
  trip(): boolean {
    if (this.#down) return false;
    this.#down = true;
    this.#downSince = this.#clock.monotonic();
    this.#nextProbeAt = this.#downSince + this.#probeIntervalMs;
    return true;
  }

  /** While down: whether a probe is due now; if so it is counted as running until {@link probed}. */
  probeDue(): boolean {
    if (!this.#down || this.#probing || this.#clock.monotonic() < this.#nextProbeAt) return false;
    this.#probing = true;
    return true;
  }

  /**
   * Records a probe's outcome. Returns how long the adapter was down, in
   * ms, when it answered (the caller emits `recovered`), else undefined.
   */
  probed(ok: boolean): number | undefined {
    this.#probing = false;
    const now = this.#clock.monotonic();
    if (!ok) {
      this.#nextProbeAt = now + this.#probeIntervalMs;
      return undefined;
    }
    if (!this.#down) return undefined;
    this.#down = false;
    return Math.max(0, Math.round(now - this.#downSince));
  }

  /** Releases the in-process store. */
  close(): Promise<void> {
    return this.adapter.close();
  }
}
