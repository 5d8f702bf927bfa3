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
export { DEADLINE_HEADER, readDeadline } from './deadline.js';
export type { Policy, PolicyContext } from './policy.js';
export { parseRetryAfterMs } from './retry-after.js';
export { RETRY_BUDGET_DEFAULTS, RetryBudget, type RetryBudgetOptions } from './retry-budget.js';
export {
  RETRY_POLICY_DEFAULTS,
  type RetryContext,
  type RetryInfo,
  RetryPolicy,
  type RetryPolicyOptions,
} from './retry-policy.js';
export {
  ServiceClient,
  type ServiceClientEvents,
  type ServiceRequestConfig,
} from './service-client.js';
export {
  type ClientRetryOptions,
  SERVICE_CLIENT_DEFAULTS,
  type ServiceClientOptions,
  type ServiceClientTarget,
} from './service-client-options.js';
export { TIMEOUT_POLICY_DEFAULTS, TimeoutPolicy, type TimeoutPolicyOptions } from './timeout-policy.js';
export type {
  AttemptOutcome,
  AttemptResult,
  PickOptions,
  UpstreamInstance,
  UpstreamSource,
} from './upstream-source.js';
export { isFailureOutcome } from './upstream-source.js';
export { wrap } from './wrap.js';
