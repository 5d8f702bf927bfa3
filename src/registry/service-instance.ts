/**
 * One instance of a service as the registry hands it out: immutable, cheap
 * to pass around. The same object is returned for as long as its record is
 * unchanged, so it can be used as a key (`exclude` sets hold ids).
 *
 * @example
 * ```ts
 * const instance: ServiceInstance = await registry.getServiceInstance('pricing');
 * const res = await fetch(new URL('/quote', instance.url));
 * ```
 */
export interface ServiceInstance {
  /** The service name. */
  readonly service: string;
  /** Unique within the service: the normalised URL. */
  readonly id: string;
  /** The instance's base URL (normalised, with a trailing `/` for the root). */
  readonly url: string;
  /** The registered weight. */
  readonly weight: number;
  /** The registered metadata. */
  readonly metadata: Readonly<Record<string, string>>;
  /** When the instance registered, ms since the epoch. */
  readonly registeredAt: number;
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
