export { DEADLINE_HEADER, type HeaderBag, readDeadline } from './deadline.js';
export { CALL_OUTCOME_OF, RegistryUpstreamSource } from './registry-upstream-source.js';
export type { AbsoluteUrlPolicy } from './request-url.js';
export { parseRetryAfterMs } from './retry-after.js';
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
export type {
  AttemptOutcome,
  AttemptResult,
  UpstreamInstance,
  UpstreamPickOptions,
  UpstreamSource,
} from './upstream-source.js';
export { isFailureOutcome } from './upstream-source.js';
