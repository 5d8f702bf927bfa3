export { BACKOFF_DEFAULTS, type Backoff, type BackoffOptions, fullJitterBackoff } from './backoff.js';
export { BULKHEAD_DEFAULTS, Bulkhead, type BulkheadOptions } from './bulkhead.js';
export {
  CIRCUIT_BREAKER_DEFAULTS,
  CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitPermit,
  type CircuitState,
  type CircuitStateChange,
  type CircuitVerdict,
} from './circuit-breaker.js';
export type { Policy, PolicyContext } from './policy.js';
export { RETRY_BUDGET_DEFAULTS, RetryBudget, type RetryBudgetOptions } from './retry-budget.js';
export {
  RETRY_POLICY_DEFAULTS,
  type RetryContext,
  type RetryInfo,
  RetryPolicy,
  type RetryPolicyOptions,
} from './retry-policy.js';
export { TIMEOUT_POLICY_DEFAULTS, TimeoutPolicy, type TimeoutPolicyOptions } from './timeout-policy.js';
export { wrap } from './wrap.js';
