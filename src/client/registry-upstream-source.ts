import type {
  AttemptResult,
  UpstreamInstance,
  UpstreamPickOptions,
  UpstreamSource,
} from '../contracts/upstream.js';
import { InvalidArgumentError, isScaleoutError } from '../errors.js';
import type { ServiceInstance } from '../registry/service-instance.js';
import type { InstanceCall, ServiceRegistry } from '../registry/service-registry.js';

/** The part of {@link ServiceRegistry} the adapter calls. */
type RegistryLike = Pick<ServiceRegistry, 'pick' | 'trackCall' | 'watch'>;

/**
 * Lets a {@link ServiceClient} use a {@link ServiceRegistry} as its
 * {@link UpstreamSource}: picks from the registry's local view (loading it
 * on first use), and reports every attempt through `trackCall`, so the
 * registry's outstanding counts (least-request and P2C balancing) and
 * outlier ejection see the client's traffic. `new ServiceClient({ service,
 * registry })` wraps a `ServiceRegistry` in one by itself.
 *
 * The call handle of each attempt travels from `onAttemptStart` to its
 * `onAttemptEnd` as the token, so two attempts in flight to the same
 * instance each release their own slot: counts stay exact.
 *
 * @example
 * ```ts
 * const source = new RegistryUpstreamSource(registry);
 * const client = new ServiceClient({ service: 'inventory', registry: source });
 * ```
 */
export class RegistryUpstreamSource implements UpstreamSource {
  readonly #registry: RegistryLike;

  constructor(registry: Pick<ServiceRegistry, 'pick' | 'trackCall' | 'watch'>) {
    if (!isServiceRegistry(registry)) {
      throw new InvalidArgumentError(
        'RegistryUpstreamSource needs a ServiceRegistry (pick, trackCall, watch)',
        {
          argument: 'registry',
        },
      );
    }
    this.#registry = registry;
  }

  /**
   * Picks from the registry's view, avoiding `exclude`; when every instance
   * is excluded, picks among all of them (a retry with a single instance
   * goes back to it). Waits for the view only the first time a service is
   * used; resolves `undefined` when the service has no instance.
   */
  pick(
    service: string,
    options: UpstreamPickOptions,
  ): UpstreamInstance | Promise<UpstreamInstance | undefined> {
    return this.#pickNow(service, options.exclude) ?? this.#pickAfterWatch(service, options.exclude);
  }

  /** Counts the attempt as outstanding in the registry; returns its call handle. */
  onAttemptStart(service: string, instanceId: string): InstanceCall | undefined {
    return this.#registry.trackCall(service, instanceId);
  }

  /** Ends the attempt's call with its outcome (one vocabulary: `CallOutcome`) and the measured latency. */
  onAttemptEnd(_service: string, _instanceId: string, result: AttemptResult, token?: unknown): void {
    (token as InstanceCall | undefined)?.end({ outcome: result.outcome, latencyMs: result.latencyMs });
  }

  #pickNow(service: string, exclude: ReadonlySet<string>): ServiceInstance | undefined {
    try {
      return this.#registry.pick(service, { exclude });
    } catch (err) {
      if (!isScaleoutError(err, 'ERR_NO_INSTANCES')) throw err;
    }
    if (exclude.size === 0) return undefined;
    try {
      return this.#registry.pick(service);
    } catch (err) {
      if (!isScaleoutError(err, 'ERR_NO_INSTANCES')) throw err;
      return undefined;
    }
  }

  async #pickAfterWatch(service: string, exclude: ReadonlySet<string>): Promise<ServiceInstance | undefined> {
    // Loads the view on first use; a store that cannot be read throws NoInstancesError with the cause.
    await this.#registry.watch(service);
    return this.#pickNow(service, exclude);
  }
}

/**
 * Whether `value` is a {@link ServiceRegistry} (or looks like one: a
 * second copy of the package), rather than a plain {@link UpstreamSource}.
 *
 * @internal
 */
export function isServiceRegistry(value: unknown): value is RegistryLike {
  const r = value as Partial<RegistryLike> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.trackCall === 'function' &&
    typeof r.watch === 'function' &&
    typeof r.pick === 'function'
  );
}
