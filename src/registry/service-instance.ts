import type { RegistryRecord } from '../contracts/registry.js';
import { instanceBaseUrl } from './record-validation.js';

/**
 * One instance of a service as the registry hands it out: immutable, cheap
 * to pass around. The same object is returned for as long as its record is
 * unchanged, so it can be used as a key (`exclude` sets hold ids).
 *
 * Its string form is its URL, as in the design's registry (which handed out
 * URL strings): `${instance}/check` and `instance.url + '/check'` both give
 * `http://10.0.0.7:4001/check`, whether it was registered with a trailing
 * `/` or not.
 *
 * @example
 * ```ts
 * const instance: ServiceInstance = await registry.getServiceInstance('pricing');
 * const res = await fetch(`${instance}/quote`);
 * ```
 */
export interface ServiceInstance {
  /** The service name. */
  readonly service: string;
  /** Unique within the service: the normalised URL (its path ends with `/`: `http://10.0.0.7:4001/`). */
  readonly id: string;
  /**
   * The instance's base URL, without a trailing `/` (`http://10.0.0.7:4001`,
   * `http://10.0.0.7:4001/api`): append paths that start with `/`.
   */
  readonly url: string;
  /** The registered weight. */
  readonly weight: number;
  /** The registered metadata. */
  readonly metadata: Readonly<Record<string, string>>;
  /** When the instance registered, ms since the epoch. */
  readonly registeredAt: number;
  /** The base URL ({@link url}), so that the instance works where the design used a URL string. */
  toString(): string;
}

/**
 * An instance with what this process knows about it: health, ejection,
 * load and latency. Returned by `ServiceRegistry.instances()`.
 *
 * @example
 * ```ts
 * for (const i of await registry.instances('pricing')) {
 *   console.log(i.url, i.healthy ? 'up' : 'down', i.outstanding, i.latencyMs);
 * }
 * ```
 */
export interface InstanceStatus extends ServiceInstance {
  /** Whether active health checks consider it healthy (always true without health checks). */
  readonly healthy: boolean;
  /** Whether outlier detection has ejected it for now. */
  readonly ejected: boolean;
  /** Whether it is ramping up after re-admission (slow start). */
  readonly warmingUp: boolean;
  /** Calls started through this process and not yet ended. */
  readonly outstanding: number;
  /** Moving average of call latency in ms, once calls have been reported. */
  readonly latencyMs: number | undefined;
}

/** Freezes `fields` with a non-enumerable `toString` giving `url` (spreads and JSON leave it out). */
function withUrlString<T extends { url: string }>(fields: T): T {
  const url = fields.url;
  Object.defineProperty(fields, 'toString', { value: () => url, enumerable: false });
  return Object.freeze(fields);
}

/**
 * @internal The frozen {@link ServiceInstance} of a validated record.
 *
 * @example
 * ```ts
 * const instance = createServiceInstance(record);
 * `${instance}/health`; // 'http://10.0.0.7:4001/health'
 * ```
 */
export function createServiceInstance(record: RegistryRecord): ServiceInstance {
  return withUrlString({
    service: record.service,
    id: record.id,
    url: instanceBaseUrl(record.url),
    weight: record.weight,
    metadata: Object.freeze({ ...record.metadata }),
    registeredAt: record.registeredAt,
  }) as ServiceInstance;
}

/**
 * @internal An {@link InstanceStatus}: the instance's fields and this process's view of it.
 *
 * @example
 * ```ts
 * const status = createInstanceStatus(instance, { healthy: true, ejected: false, warmingUp: false, outstanding: 0, latencyMs: undefined });
 * ```
 */
export function createInstanceStatus(
  instance: ServiceInstance,
  status: Omit<InstanceStatus, keyof ServiceInstance>,
): InstanceStatus {
  return withUrlString({ ...instance, ...status }) as InstanceStatus;
}
