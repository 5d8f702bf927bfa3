export type { ServiceRequestConfig } from './call-state.js';
export { DEADLINE_HEADER, type HeaderBag, readDeadline } from './deadline.js';
export { RegistryUpstreamSource } from './registry-upstream-source.js';
export type { AbsoluteUrlPolicy } from './request-url.js';
export { parseRetryAfterMs } from './retry-after.js';
export { ServiceClient } from './service-client.js';
export type {
  AttemptEvent,
  BreakerStateChangeEvent,
  CallEvent,
  ClientErrorEvent,
  ClientRetryEvent,
  DeprecatedServiceClientEvents,
  ServiceClientEvents,
} from './service-client-events.js';
export {
  type ClientRetryOptions,
  SERVICE_CLIENT_DEFAULTS,
  type ServiceClientOptions,
} from './service-client-options.js';
export type { ServiceClientTarget } from './service-client-target.js';
