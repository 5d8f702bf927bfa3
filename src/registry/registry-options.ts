import type { RegistryAdapter } from '../contracts/registry.js';
import { InvalidOptionsError } from '../errors.js';
import { durationOption, optionsChecker } from '../internal/validate.js';
import {
  checkTelemetryOptions,
  TELEMETRY_OPTION_HINTS,
  TELEMETRY_OPTION_KEYS,
  type TelemetryOptions,
} from '../telemetry/telemetry-options.js';
import type { BaseOptions, Clock, Logger } from '../types.js';
import { noopLogger, systemClock } from '../types.js';
import type { BalancerFactory } from './balancers/balancer.js';
import { powerOfTwoChoicesBalancer } from './balancers/power-of-two-choices.js';
import { HealthChecker, type HealthCheckerOptions } from './health-checker.js';
import { type OutlierDetectionOptions, resolveOutlierDetection } from './outlier-detection.js';
import { checkLeaseTtl } from './record-validation.js';
import type { RegistrySettings } from './registry-context.js';

/**
 * Options of {@link ServiceRegistry}.
 *
 * @example
 * ```ts
 * const options: ServiceRegistryOptions = { ttlMs: 10_000, healthCheck: { path: '/healthz' } };
 * ```
 */
export interface ServiceRegistryOptions extends BaseOptions<RegistryAdapter>, TelemetryOptions {
  /**
   * Where registrations live. Pass `redisRegistryAdapter(...)` to share them
   * across a fleet. An adapter you pass is not closed by `close()`.
   * @default a new memoryRegistryAdapter() (this process only)
   */
  adapter?: RegistryAdapter;
  /**
   * Makes the balancer of each service.
   * @default powerOfTwoChoicesBalancer
   */
  balancer?: BalancerFactory;
  /**
   * Default lease of a registration, ms: an instance that stops
   * heartbeating disappears this long after its last heartbeat.
   * @default 15_000
   */
  ttlMs?: number;
  /**
   * Time between heartbeats of this process's registrations, ms; must be below each lease's TTL.
   * @default a third of each registration's ttlMs
   */
  heartbeatIntervalMs?: number;
  /**
   * Full re-read of each watched service, ms, as a fallback for missed
   * change notifications. Views also re-read when a lease they hold is due
   * to expire.
   * @default 30_000
   */
  resyncIntervalMs?: number;
  /**
   * Limit on each background call to the adapter (register, heartbeat,
   * list), ms. A call that takes longer counts as failed; the local view
   * is kept.
   * @default 2_000
   */
  operationTimeoutMs?: number;
  /**
   * Active health checks of the instances of watched services.
   * @default undefined (no active checks)
   */
  healthCheck?: HealthCheckerOptions;
  /**
   * Ejection of instances whose reported calls keep failing; `false` turns it off.
   * @default {} (enabled with the defaults of OutlierDetectionOptions)
   */
  outlierDetection?: OutlierDetectionOptions | false;
  /**
   * When fewer than this percentage of a service's instances are healthy
   * and not ejected, route across all of them instead (an outage of the
   * checks should not become an outage of the service). `0` disables.
   * @default 50
   */
  panicThresholdPercent?: number;
  /**
   * Ramp of an instance re-admitted after failing health checks or after an
   * ejection, ms: its share of picks grows linearly from 10% to 100%. `0` disables.
   * @default 30_000
   */
  slowStartMs?: number;
  /**
   * Deregister this process's registrations on `close()`.
   * @default true
   */
  deregisterOnClose?: boolean;
  /**
   * Receives warnings about background failures (the same as `error` events).
   * @default noopLogger
   */
  logger?: Logger;
  /**
   * Time source (inject one in tests).
   * @default systemClock
   */
  clock?: Clock;
}

/**
 * The defaults of {@link ServiceRegistryOptions}.
 *
 * @example
 * ```ts
 * const heartbeatMs = SERVICE_REGISTRY_DEFAULTS.ttlMs / 3;
 * ```
 */
export const SERVICE_REGISTRY_DEFAULTS = {
  /** Power of two choices. */
  balancer: powerOfTwoChoicesBalancer as BalancerFactory,
  /** 15 s leases. */
  ttlMs: 15_000,
  /** Full re-read every 30 s. */
  resyncIntervalMs: 30_000,
  /** 2 s per background call. */
  operationTimeoutMs: 2_000,
  /** Panic below 50% routable. */
  panicThresholdPercent: 50,
  /** 30 s ramp. */
  slowStartMs: 30_000,
  /** Deregister on close. */
  deregisterOnClose: true,
} as const;

/**
 * The former name of {@link SERVICE_REGISTRY_DEFAULTS}.
 *
 * @deprecated Use {@link SERVICE_REGISTRY_DEFAULTS} (issue 17: every defaults constant is named `<NAME>_DEFAULTS`).
 */
export const DEFAULT_SERVICE_REGISTRY_OPTIONS = SERVICE_REGISTRY_DEFAULTS;

/** @internal Refuses unknown keys of `ServiceRegistryOptions`. */
export const checkServiceRegistryOptions = optionsChecker({
  where: 'ServiceRegistry options',
  keys: [
    'adapter',
    'balancer',
    'ttlMs',
    'heartbeatIntervalMs',
    'resyncIntervalMs',
    'operationTimeoutMs',
    'healthCheck',
    'outlierDetection',
    'panicThresholdPercent',
    'slowStartMs',
    'deregisterOnClose',
    'logger',
    'clock',
    ...TELEMETRY_OPTION_KEYS,
  ],
  hints: {
    ...TELEMETRY_OPTION_HINTS,
    ttl: 'ttlMs',
    interval: 'heartbeatIntervalMs',
    healthChecks: 'healthCheck',
    timeout: 'operationTimeoutMs',
  },
  bareNumber: 'ttlMs',
});

/** @internal {@link ServiceRegistryOptions} resolved: the settings and the parts built from them. */
export interface ResolvedRegistryOptions {
  readonly settings: RegistrySettings;
  /** The adapter passed in, if any (the registry then does not close it). */
  readonly adapter: RegistryAdapter | undefined;
  /** The active health checker, when `healthCheck` is given. */
  readonly checker: HealthChecker | undefined;
  readonly logger: Logger;
  readonly clock: Clock;
}

/**
 * @internal Validates `options` (unknown keys, types, ranges, in the order
 * of the fields) and applies the defaults field by field.
 */
export function resolveServiceRegistryOptions(options: ServiceRegistryOptions): ResolvedRegistryOptions {
  checkServiceRegistryOptions(options);
  checkTelemetryOptions(options, 'ServiceRegistry options');
  const d = SERVICE_REGISTRY_DEFAULTS;
  if (options.adapter !== undefined && (typeof options.adapter !== 'object' || options.adapter === null)) {
    throw new InvalidOptionsError('adapter must be a RegistryAdapter', { option: 'adapter' });
  }
  const balancer = options.balancer ?? d.balancer;
  if (typeof balancer !== 'function') {
    throw new InvalidOptionsError('balancer must be a function that makes a Balancer', {
      option: 'balancer',
    });
  }
  const ttlMs = leaseTtlOption(options.ttlMs ?? d.ttlMs);
  const heartbeatIntervalMs =
    options.heartbeatIntervalMs === undefined
      ? undefined
      : durationOption('heartbeatIntervalMs', options.heartbeatIntervalMs, 10);
  if (heartbeatIntervalMs !== undefined && heartbeatIntervalMs >= ttlMs) {
    throw new InvalidOptionsError('heartbeatIntervalMs must be below ttlMs', {
      option: 'heartbeatIntervalMs',
    });
  }
  const resyncIntervalMs = durationOption(
    'resyncIntervalMs',
    options.resyncIntervalMs ?? d.resyncIntervalMs,
    10,
  );
  const operationTimeoutMs = durationOption(
    'operationTimeoutMs',
    options.operationTimeoutMs ?? d.operationTimeoutMs,
    1,
  );
  const panic = options.panicThresholdPercent ?? d.panicThresholdPercent;
  if (typeof panic !== 'number' || !(panic >= 0 && panic <= 100)) {
    throw new InvalidOptionsError('panicThresholdPercent must be in [0, 100]', {
      option: 'panicThresholdPercent',
    });
  }
  const slowStartMs = durationOption('slowStartMs', options.slowStartMs ?? d.slowStartMs, 0);
  const deregisterOnClose = options.deregisterOnClose ?? d.deregisterOnClose;
  const outliers =
    options.outlierDetection === false ? undefined : resolveOutlierDetection(options.outlierDetection ?? {});
  const checker = options.healthCheck === undefined ? undefined : new HealthChecker(options.healthCheck);
  return {
    settings: {
      balancer,
      ttlMs,
      heartbeatIntervalMs,
      resyncIntervalMs,
      operationTimeoutMs,
      panicThreshold: panic / 100,
      slowStartMs,
      deregisterOnClose,
      outliers,
    },
    adapter: options.adapter,
    checker,
    logger: options.logger ?? noopLogger,
    clock: options.clock ?? systemClock,
  };
}

function leaseTtlOption(value: number): number {
  try {
    return checkLeaseTtl(value);
  } catch (err) {
    throw new InvalidOptionsError((err as Error).message, { option: 'ttlMs' });
  }
}
