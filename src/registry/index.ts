export * from './balancers/index.js';
export type { HealthCheckerOptions } from './health-checker.js';
export { DEFAULT_HEALTH_CHECKER_OPTIONS, HealthChecker } from './health-checker.js';
export type { OutlierDetectionOptions } from './outlier-detection.js';
export { DEFAULT_OUTLIER_DETECTION_OPTIONS } from './outlier-detection.js';
export type { InstanceStatus, ServiceInstance } from './service-instance.js';
export type {
  CallResult,
  InstanceCall,
  PickOptions,
  RegisterOptions,
  Registration,
  ServiceRegistryEvents,
  ServiceRegistryOptions,
} from './service-registry.js';
export {
  DEFAULT_SERVICE_REGISTRY_OPTIONS,
  MAX_LEASE_TTL_MS,
  MIN_LEASE_TTL_MS,
  ServiceRegistry,
} from './service-registry.js';
