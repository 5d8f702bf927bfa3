import { InvalidArgumentError } from '../errors.js';
import type { RateLimitDecision, RateLimitPolicyState } from './rate-limit-decision.js';

const POLICY_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

function isPolicyState(p: unknown): p is RateLimitPolicyState {
  if (typeof p !== 'object' || p === null) return false;
  const s = p as Partial<RateLimitPolicyState>;
  return (
    typeof s.name === 'string' &&
    POLICY_NAME.test(s.name) &&
    Number.isSafeInteger(s.limit) &&
    Number.isSafeInteger(s.windowMs) &&
    Number.isSafeInteger(s.remaining) &&
    Number.isSafeInteger(s.resetMs)
  );
}

/**
 * The HTTP header fields of a decision, after draft-ietf-httpapi-ratelimit-headers
 * (revision 12, November 2026: two Structured Fields lists, one item per
 * quota policy, named by a String):
 *
 * - `ratelimit-policy`: every limit, `"<name>";q=<limit>;w=<window s>`;
 * - `ratelimit`: every limit's state, `"<name>";r=<remaining>;t=<s until restored>`;
 * - `retry-after` (RFC 9110, denials only): whole seconds before the same
 *   request can pass, rounded up so a client that waits exactly this long is
 *   never refused for having come early.
 *
 * Windows and resets are given in whole seconds, rounded up (a 500 ms
 * window is `w=1`). Names are restricted by the limiter to characters that
 * need no escaping in a String.
 *
 * @example
 * ```ts
 * rateLimitHeaders(decision);
 * // { 'ratelimit-policy': '"api";q=100;w=60', ratelimit: '"api";r=99;t=1' }
 * ```
 */
export function rateLimitHeaders(decision: RateLimitDecision): Record<string, string> {
  const policies = (decision as Partial<RateLimitDecision> | null)?.policies;
  if (
    !Array.isArray(policies) ||
    policies.length === 0 ||
    // Index by index: `every` skips the holes of a sparse array.
    !Array.from(policies).every(isPolicyState) ||
    (decision.allowed !== true && !Number.isSafeInteger(decision.retryAfterMs))
  ) {
    throw new InvalidArgumentError('rateLimitHeaders takes a decision of RateLimiter.consume() or peek()', {
      argument: 'decision',
    });
  }
  let policy = '';
  let state = '';
  for (const p of policies) {
    if (policy !== '') {
      policy += ', ';
      state += ', ';
    }
    policy += `"${p.name}";q=${p.limit};w=${Math.ceil(p.windowMs / 1000)}`;
    state += `"${p.name}";r=${p.remaining};t=${Math.ceil(p.resetMs / 1000)}`;
  }
  const headers: Record<string, string> = { 'ratelimit-policy': policy, ratelimit: state };
  if (!decision.allowed)
    headers['retry-after'] = String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000)));
  return headers;
}
