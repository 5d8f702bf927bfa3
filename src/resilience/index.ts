export { type Backoff, type BackoffOptions, fullJitterBackoff } from './backoff.js';
export { Bulkhead, type BulkheadOptions } from './bulkhead.js';
export {
  CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitPermit,
  type CircuitState,
  type CircuitStateChange,
  type CircuitVerdict,
} from './circuit-breaker.js';
export type { Policy, PolicyContext } from './policy.js';
export { RetryBudget, type RetryBudgetOptions } from './retry-budget.js';
export {
  type RetryContext,
  type RetryInfo,
  RetryPolicy,
  type RetryPolicyOptions,
} from './retry-policy.js';
export { TimeoutPolicy, type TimeoutPolicyOptions } from './timeout-policy.js';
export { wrap } from './wrap.js';
