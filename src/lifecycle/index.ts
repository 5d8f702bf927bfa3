export type { CheckResult, HealthCheck, HealthCheckOptions, HealthReport } from './health-checks.js';
export { DRAINING_HEADER, type HttpServerLike } from './http-drain.js';
export type { Closable, ConsumerLike, RegistrationLike } from './managed-resource.js';
export { probeHandler } from './probe-handler.js';
export type { HealthSource, ProbeAnswer } from './probe-responder.js';
export { type ManageOptions, ServiceLifecycle } from './service-lifecycle.js';
export type { ServiceLifecycleEvents } from './service-lifecycle-events.js';
export {
  type FastifyLike,
  type ProbePaths,
  SERVICE_LIFECYCLE_DEFAULTS,
  type ServiceLifecycleOptions,
  type ShutdownSignal,
} from './service-lifecycle-options.js';
export type { ShutdownReport, ShutdownStep, StepOutcome, StepReport } from './shutdown-report.js';
