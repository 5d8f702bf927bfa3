import type { RateLimitAdapterResult, RateLimitRuleState } from '../contracts/rate-limit.js';
import type { RateLimitPolicy } from './rate-limiter-options.js';

/**
 * The state of one limit in a {@link RateLimitDecision}.
 *
 * @example
 * ```ts
 * for (const p of decision.policies) console.log(`${p.name}: ${p.remaining}/${p.limit}`);
 * ```
 */
export interface RateLimitPolicyState extends RateLimitPolicy {
  /** Units left now (after this consume, when it was allowed). */
  readonly remaining: number;
  /** Ms until this limit is fully restored. */
  readonly resetMs: number;
  /** Ms until the asked cost would be allowed by this limit; 0 when it is now. */
  readonly retryAfterMs: number;
}

/**
 * What {@link RateLimiter.consume} and {@link RateLimiter.peek} answer. A
 * denial is an answer, not an error.
 *
 * @example
 * ```ts
 * const decision = await limiter.consume(`ip:${ip}`);
 * if (!decision.allowed) return reply(429, { retryAfterMs: decision.retryAfterMs });
 * ```
 */
export interface RateLimitDecision {
  /** Whether every limit allowed the cost (for `peek`: whether a cost of 1 would pass now). */
  readonly allowed: boolean;
  /** Units left under the tightest limit (the one with the fewest left). */
  readonly remaining: number;
  /** That tightest limit's `limit`. */
  readonly limit: number;
  /** Ms until that tightest limit is fully restored. */
  readonly resetMs: number;
  /** Ms to wait before the same cost can be allowed (every limit considered); 0 when allowed. */
  readonly retryAfterMs: number;
  /** Who decided: the adapter, or the in-process insurance limiter while the adapter is down. */
  readonly source: 'adapter' | 'insurance';
  /** Every limit's state, in the order of the limiter's `limits`. */
  readonly policies: readonly RateLimitPolicyState[];
}

/** One limit's state in a decision: the policy and the adapter's figures for it. */
function policyState(p: RateLimitPolicy, r: RateLimitRuleState): RateLimitPolicyState {
  return {
    name: p.name,
    limit: p.limit,
    windowMs: p.windowMs,
    algorithm: p.algorithm,
    remaining: r.remaining,
    resetMs: r.resetMs,
    retryAfterMs: r.retryAfterMs,
  };
}

/**
 * @internal The decision of one limit from its state and verdict (the
 * limiter's hot path, and {@link toDecision} for one limit).
 */
export function ruleDecision(
  r: RateLimitRuleState,
  allowed: boolean,
  p: RateLimitPolicy,
  source: 'adapter' | 'insurance',
): RateLimitDecision {
  const state = policyState(p, r);
  return {
    allowed,
    remaining: r.remaining,
    limit: p.limit,
    resetMs: r.resetMs,
    retryAfterMs: allowed ? 0 : r.retryAfterMs,
    source,
    policies: [state],
  };
}

/**
 * Combines an adapter's per-limit answer into a decision: allowed when
 * every limit allows; `remaining`, `limit` and `resetMs` from the tightest
 * limit; `retryAfterMs` the longest wait among the limits that denied (each
 * only frees up with time, so after the longest wait every one allows).
 *
 * @example
 * ```ts
 * const decision = toDecision(await adapter.consume(request), limiter.policies, 'adapter');
 * ```
 */
export function toDecision(
  result: RateLimitAdapterResult,
  policies: readonly RateLimitPolicy[],
  source: 'adapter' | 'insurance',
): RateLimitDecision {
  if (policies.length === 1) {
    // One limit: the decision is its state, with the adapter's verdict.
    return ruleDecision(result.rules[0]!, result.allowed, policies[0]!, source);
  }
  const states: RateLimitPolicyState[] = [];
  let tightest = 0;
  let retryAfterMs = 0;
  for (let i = 0; i < policies.length; i++) {
    const p = policies[i]!;
    const r = result.rules[i]!;
    states.push(policyState(p, r));
    if (r.remaining < result.rules[tightest]!.remaining) tightest = i;
    if (r.retryAfterMs > retryAfterMs) retryAfterMs = r.retryAfterMs;
  }
  const t = states[tightest]!;
  return {
    allowed: result.allowed,
    remaining: t.remaining,
    limit: t.limit,
    resetMs: t.resetMs,
    retryAfterMs: result.allowed ? 0 : retryAfterMs,
    source,
    policies: states,
  };
}
