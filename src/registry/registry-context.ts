import type { RegistryAdapter } from '../contracts/registry.js';
import type { ContextRunner } from '../internal/async-context.js';
import type { Lifecycle } from '../internal/lifecycle.js';
import type { OperationTelemetry } from '../telemetry/operation-telemetry.js';
import type { Clock } from '../types.js';
import type { BalancerFactory } from './balancers/balancer.js';
import type { OutlierDetectionOptions } from './outlier-detection.js';
import type { RegistryEvents } from './registry-events.js';

/**
 * @internal The registry's options, resolved and validated once at
 * construction (`resolveServiceRegistryOptions`).
 */
export interface RegistrySettings {
  readonly balancer: BalancerFactory;
  readonly ttlMs: number;
  /** `undefined`: a third of each registration's ttlMs. */
  readonly heartbeatIntervalMs: number | undefined;
  readonly resyncIntervalMs: number;
  readonly operationTimeoutMs: number;
  /** `panicThresholdPercent` as a fraction in [0, 1]. */
  readonly panicThreshold: number;
  readonly slowStartMs: number;
  readonly deregisterOnClose: boolean;
  /** `undefined`: outlier detection is off. */
  readonly outliers: Required<OutlierDetectionOptions> | undefined;
}

/**
 * @internal What the parts of one `ServiceRegistry` share: its store, clock,
 * settings, events and lifecycle, and the async context its background
 * work runs in. Built once by the facade and handed to its service views,
 * own registrations and health rounds.
 */
export interface RegistryContext {
  readonly adapter: RegistryAdapter;
  readonly clock: Clock;
  readonly settings: RegistrySettings;
  readonly events: RegistryEvents;
  readonly life: Lifecycle;
  /**
   * Runs `fn` in the context the registry was made in. Views (their loads,
   * re-reads, subscriptions and the `change` events they emit) and
   * heartbeats are shared by every caller: they run in it, never in the
   * context of the request that happened to start them (which they would
   * keep alive).
   */
  readonly background: ContextRunner;
  /**
   * Spans of the store operations (register, deregister, list), when
   * OpenTelemetry is there; heartbeats and picks make none.
   */
  readonly operations?: OperationTelemetry | undefined;
}
