export { type Backoff, type BackoffOptions, fullJitterBackoff } from '../internal/backoff.js';
export { Bulkhead, type BulkheadOptions } from './bulkhead.js';
export {
  CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitPermit,
  type CircuitState,
  type CircuitStateChange,
  type CircuitVerdict,
} from './circuit-breaker.js';
export { DEADLINE_HEADER, type HeaderBag, readDeadline } from './deadline.js';
export type { Policy, PolicyContext } from './policy.js';
export { CALL_OUTCOME_OF, RegistryUpstreamSource } from './registry-upstream-source.js';
export type { AbsoluteUrlPolicy } from './request-url.js';
export { parseRetryAfterMs } from './retry-after.js';
export { RetryBudget, type RetryBudgetOptions } from './retry-budget.js';
export {
  type RetryContext,
  type RetryInfo,
  RetryPolicy,
  type RetryPolicyOptions,
} from './retry-policy.js';
export {
  type AttemptEvent,
  type BreakerStateChangeEvent,
  type CallEvent,
  type ClientRetryEvent,
  ServiceClient,
  type ServiceClientEvents,
  type ServiceRequestConfig,
} from './service-client.js';
export type {
  ClientRetryOptions,
  ServiceClientOptions,
  ServiceClientTarget,
} from './service-client-options.js';
export { TimeoutPolicy, type TimeoutPolicyOptions } from './timeout-policy.js';
export type {
  AttemptOutcome,
  AttemptResult,
  UpstreamInstance,
  UpstreamPickOptions,
  UpstreamSource,
} from './upstream-source.js';
export { isFailureOutcome } from './upstream-source.js';
export { wrap } from './wrap.js';
