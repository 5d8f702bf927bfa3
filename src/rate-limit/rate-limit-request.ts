import type { RateLimitRule } from '../contracts/rate-limit.js';
import { InvalidArgumentError } from '../errors.js';
import { isWellFormed } from '../internal/validate.js';
import { MAX_LIMIT_TIMES_WINDOW } from './algorithm.js';
import { RATE_LIMIT_ALGORITHMS } from './algorithms.js';

/** Most limits one request may carry (each is one key of the Redis script). */
export const MAX_RULES = 16;

const checkedRules = new WeakSet<readonly RateLimitRule[]>();

function fail(message: string, argument: string): never {
  throw new InvalidArgumentError(message, { argument });
}

/**
 * @internal Checks what an adapter is asked, for callers other than the
 * primitive (which builds valid, frozen requests): a key string (no lone
 * surrogate: a UTF-8 store would read it as another key), 1 to
 * {@link MAX_RULES} rules with integer limits and windows within bounds and
 * distinct (algorithm, window) pairs, and an integer cost when one is due.
 * A rules array already checked is remembered when nothing in it can change
 * (the array and every rule frozen, as the primitive's are), so the
 * primitive's calls cost a lookup. Throws {@link InvalidArgumentError}.
 */
export function checkRateLimitRequest(request: unknown, withCost: boolean): void {
  if (typeof request !== 'object' || request === null) fail('the request must be an object', 'request');
  const { key, rules, cost } = request as { key?: unknown; rules?: unknown; cost?: unknown };
  if (typeof key !== 'string' || key.length === 0 || key.length > 4096 || !isWellFormed(key)) {
    fail('request.key must be a non-empty string of at most 4096 characters, no lone surrogate', 'key');
  }
  if (withCost && (typeof cost !== 'number' || !Number.isSafeInteger(cost) || cost < 1)) {
    fail('request.cost must be an integer >= 1', 'cost');
  }
  if (!Array.isArray(rules)) fail('request.rules must be an array of rules', 'rules');
  if (checkedRules.has(rules)) return;
  if (rules.length === 0 || rules.length > MAX_RULES) {
    fail(`request.rules must hold 1 to ${MAX_RULES} rules`, 'rules');
  }
  const seen = new Set<string>();
  for (const rule of rules as unknown[]) {
    if (typeof rule !== 'object' || rule === null) fail('each rule must be an object', 'rules');
    const { limit, windowMs, algorithm } = rule as Partial<RateLimitRule>;
    if (typeof algorithm !== 'string' || !Object.hasOwn(RATE_LIMIT_ALGORITHMS, algorithm)) {
      fail('rule.algorithm must be gcra, sliding-window or fixed-window', 'rules');
    }
    if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1) {
      fail('rule.limit must be an integer >= 1', 'rules');
    }
    if (typeof windowMs !== 'number' || !Number.isSafeInteger(windowMs) || windowMs < 1) {
      fail('rule.windowMs must be an integer >= 1', 'rules');
    }
    if (limit * windowMs > MAX_LIMIT_TIMES_WINDOW)
      fail('rule.limit * rule.windowMs must be at most 2^50', 'rules');
    const id = `${algorithm}:${windowMs}`;
    if (seen.has(id)) fail('two rules share an algorithm and a window', 'rules');
    seen.add(id);
  }
  // Remembered only when nothing checked can change: a frozen array of mutable rules is checked each time.
  if (Object.isFrozen(rules) && (rules as unknown[]).every((rule) => Object.isFrozen(rule))) {
    checkedRules.add(rules);
  }
}
