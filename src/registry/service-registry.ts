import { memoryRegistryAdapter } from '../adapters/memory/registry.js';
import { NoInstancesError } from '../errors.js';
import { captureContext } from '../internal/async-context.js';
import { Lifecycle } from '../internal/lifecycle.js';
import { type TimerHandle, unrefInterval } from '../internal/timers.js';
import { keyArgument } from '../internal/validate.js';
import { OperationTelemetry } from '../telemetry/operation-telemetry.js';
import type { Clock } from '../types.js';
import { checkPickOptions, checkRegisterOptions, refuseExtraArguments } from './argument-checks.js';
import { designHealthChecker, mustBeAwaited } from './design-compat.js';
import { type HealthChecker, runHealthRound } from './health-checker.js';
import { beginCall, type InstanceCall } from './instance-call.js';
import type { InstanceState } from './instance-state.js';
import { decayLatencies, LATENCY_DECAY_INTERVAL_MS } from './latency-estimate.js';
import { normaliseInstanceUrl } from './record-validation.js';
import { type RegisterOptions, type Registration, Registrations } from './registrations.js';
import type { RegistryContext } from './registry-context.js';
import { RegistryEvents, type ServiceRegistryEvents } from './registry-events.js';
import { resolveServiceRegistryOptions, type ServiceRegistryOptions } from './registry-options.js';
import { type PickOptions, route } from './routing.js';
import type { InstanceStatus, ServiceInstance } from './service-instance.js';
import { ServiceView } from './service-view.js';

// The types of the registry's API, where its users (ServiceClient among them) have always found them.
export type { CallOutcome, CallResult, InstanceCall } from './instance-call.js';
export { MAX_LEASE_TTL_MS, MIN_LEASE_TTL_MS } from './record-validation.js';
export type { RegisterOptions, Registration } from './registrations.js';
export type { ServiceRegistryEvents } from './registry-events.js';
export {
  DEFAULT_SERVICE_REGISTRY_OPTIONS,
  SERVICE_REGISTRY_DEFAULTS,
  type ServiceRegistryOptions,
} from './registry-options.js';
export type { PickOptions } from './routing.js';

/**
 * Service discovery shared by a fleet: instances register under a lease
 * and heartbeat; every process keeps a local view of the services it uses,
 * updated by change notifications (and re-read as a fallback), so picking
 * an instance never waits on the store. Views survive store outages: when
 * the store is unreachable, the last good view keeps serving and nobody is
 * dropped. On top of the view: active health checks with thresholds and
 * slow start, outlier ejection from reported call results, a panic
 * threshold, and a pluggable balancer (power of two choices by default).
 *
 * The facade over one concept per file: `service-view.ts` (the local views),
 * `registrations.ts` (this process's leases and heartbeats), `routing.ts`
 * (picking), `instance-call.ts` (calls in flight), `outlier-detection.ts`,
 * `health-checker.ts`, `registry-events.ts`, `registry-options.ts`.
 *
 * @example
 * ```ts
 * import { ServiceRegistry } from 'scaleout';
 * import { redisRegistryAdapter } from 'scaleout/redis';
 *
 * const registry = new ServiceRegistry({ adapter: redisRegistryAdapter({ connection: redis }) });
 * await registry.register('inventory-service', 'http://10.0.0.7:4001', { ttlMs: 10_000 });
 * const instance = await registry.getServiceInstance('inventory-service');
 * ```
 */
export class ServiceRegistry {
  readonly #ctx: RegistryContext;
  /** `#ctx.life` and `#ctx.clock`, held here too: one load less on every pick. */
  readonly #life: Lifecycle;
  readonly #clock: Clock;
  /** The adapter, if the registry created it (then `close()` closes it). */
  readonly #ownAdapter: { close(): Promise<void> } | undefined;
  readonly #checker: HealthChecker | undefined;
  readonly #views = new Map<string, ServiceView>();
  readonly #registrations: Registrations;
  /** The checker of `runHealthChecks()` when no `healthCheck` option was given. */
  #designChecker: HealthChecker | undefined;
  #healthTimer: TimerHandle | undefined;
  #decayTimer: TimerHandle | undefined;
  #healthRound: Promise<void> | undefined;

  constructor(options: ServiceRegistryOptions = {}) {
    const resolved = resolveServiceRegistryOptions(options);
    const { clock, logger } = resolved;
    const adapter = resolved.adapter ?? memoryRegistryAdapter({ clock });
    this.#ownAdapter = resolved.adapter === undefined ? adapter : undefined;
    this.#life = new Lifecycle('the service registry');
    this.#clock = clock;
    this.#ctx = {
      adapter,
      clock,
      settings: resolved.settings,
      events: new RegistryEvents(logger),
      life: this.#life,
      background: captureContext(),
      operations: OperationTelemetry.create(options),
    };
    this.#registrations = new Registrations(this.#ctx, this.#views, (service, url) =>
      this.deregister(service, url),
    );
    this.#checker = resolved.checker;
    if (this.#checker !== undefined) {
      this.#healthTimer = unrefInterval(() => {
        void this.checkHealth();
      }, this.#checker.options.intervalMs);
    }
  }

  /**
   * Subscribes to an event; returns a function that unsubscribes.
   *
   * @example
   * ```ts
   * const stop = registry.on('health', ({ instance, healthy }) => log.info(instance.url, { healthy }));
   * ```
   */
  on<K extends keyof ServiceRegistryEvents>(
    event: K,
    listener: (payload: ServiceRegistryEvents[K]) => void,
  ): () => void {
    return this.#ctx.events.on(event, listener);
  }

  /**
   * Removes a listener added with {@link on}.
   *
   * @example
   * ```ts
   * registry.off('change', onChange);
   * ```
   */
  off<K extends keyof ServiceRegistryEvents>(
    event: K,
    listener: (payload: ServiceRegistryEvents[K]) => void,
  ): void {
    this.#ctx.events.off(event, listener);
  }

  /**
   * Registers an instance of `service` at `url` under a lease that this
   * registry renews by heartbeat until `deregister` or `close`. The URL must
   * be absolute `http:`/`https:` without credentials, query or fragment;
   * it is normalised (a path gets a trailing `/`) and becomes the instance
   * id. If another process holds a live registration of the same URL (a
   * restarted instance), this one takes it over.
   *
   * Idempotent, as in the design: registering a URL this registry already
   * registered, with the same options, resolves to the same registration
   * and changes nothing. With other options (weight, metadata, ttlMs) it
   * throws `DuplicateRegistrationError` (deregister first): a changed
   * weight is never dropped silently. Throws `InvalidArgumentError` for bad
   * input and `InvalidOptionsError` for unknown option keys; in every error
   * case nothing changes.
   *
   * @example
   * ```ts
   * await registry.register('inventory-service', 'http://10.0.0.7:4001', {
   *   weight: 2,
   *   metadata: { zone: 'eu-1' },
   *   ttlMs: 10_000,
   * });
   * ```
   */
  async register(service: string, url: string, options: RegisterOptions = {}): Promise<Registration> {
    this.#life.assertOpen();
    checkRegisterOptions(options);
    return this.#registrations.add(service, url, options);
  }

  /**
   * Ends a registration of this registry at once: every view drops it on
   * the change notification. Idempotent, as in the design: resolves `true`
   * when it removed a registration, `false` (and does nothing) when this
   * registry holds no registration of `url` for `service` (never
   * registered, already deregistered, or taken over by another process),
   * so a mistyped URL shows in the result instead of passing unnoticed.
   *
   * @example
   * ```ts
   * process.once('SIGTERM', async () => {
   *   await registry.deregister('inventory-service', 'http://10.0.0.7:4001');
   *   server.close();
   * });
   * ```
   */
  deregister(service: string, url: string): Promise<boolean>;
  async deregister(service: string, url: string, ...extra: unknown[]): Promise<boolean> {
    this.#life.assertOpen();
    refuseExtraArguments('registry.deregister()', extra);
    keyArgument('service', service, 256);
    return this.#registrations.remove(service, normaliseInstanceUrl(url));
  }

  /**
   * Starts watching `service` (if not yet) and resolves once its view is
   * loaded; after that, {@link pick} and {@link startCall} never wait.
   *
   * @example
   * ```ts
   * await registry.watch('pricing'); // at startup
   * app.get('/quote', (req, res) => res.json({ via: registry.pick('pricing').url }));
   * ```
   */
  watch(service: string): Promise<void>;
  async watch(service: string, ...extra: unknown[]): Promise<void> {
    this.#life.assertOpen();
    refuseExtraArguments('registry.watch()', extra);
    keyArgument('service', service, 256);
    const view = this.#ensureView(service);
    await view.ready;
    if (!view.loaded) {
      throw new NoInstancesError(`the instances of ${service} could not be loaded`, {
        service,
        cause: view.lastError,
      });
    }
  }

  /**
   * Stops watching `service`: drops its local view, subscription and timers
   * (a later pick loads it again). Services are watched on first use, so a
   * process that looks up many short-lived names should unwatch them.
   *
   * @example
   * ```ts
   * await registry.unwatch('legacy-billing');
   * ```
   */
  unwatch(service: string): Promise<void>;
  async unwatch(service: string, ...extra: unknown[]): Promise<void> {
    refuseExtraArguments('registry.unwatch()', extra);
    const view = this.#views.get(service);
    if (view === undefined) return;
    this.#views.delete(service);
    await view.detach();
  }

  /**
   * Picks an instance of `service` (watching it first if needed): the
   * design's name. Rejects with `NoInstancesError` when there is none (or
   * every one is excluded), as the design's throws. The instance's string
   * form is its URL, so `${instance}/check` works as with the design's URL
   * strings; the promise itself must be awaited (using it as a string
   * throws `InvalidArgumentError` saying so).
   *
   * @example
   * ```ts
   * const instance = await registry.getServiceInstance('inventory-service');
   * const res = await fetch(`${instance}/check`, { method: 'POST', body });
   * ```
   */
  getServiceInstance(service: string, options: PickOptions = {}): Promise<ServiceInstance> {
    return mustBeAwaited(this.#getServiceInstance(service, options), 'registry.getServiceInstance()');
  }

  async #getServiceInstance(service: string, options: PickOptions): Promise<ServiceInstance> {
    this.#life.assertOpen();
    checkPickOptions(options);
    keyArgument('service', service, 256);
    const view = this.#views.get(service);
    if (view === undefined || !view.loaded) await this.watch(service);
    return this.pick(service, options);
  }

  /**
   * Picks an instance synchronously from the local view; never touches the
   * store. Throws `NoInstancesError` if the service is not watched yet (see
   * {@link watch}; the call starts watching it), has no instance, or every
   * one is excluded.
   *
   * @example
   * ```ts
   * const instance = registry.pick('pricing', { exclude: new Set([firstTry.id]) });
   * ```
   */
  pick(service: string, options: PickOptions = {}): ServiceInstance {
    checkPickOptions(options);
    return this.#select(service, options.exclude).instance;
  }

  /**
   * Picks an instance and counts a call to it as outstanding until
   * `end(result)`; the result feeds latency-aware balancing and outlier
   * ejection. The building block of `ServiceClient`.
   *
   * @example
   * ```ts
   * const call = registry.startCall('pricing');
   * try {
   *   const res = await fetch(`${call.instance}/quote`);
   *   call.end({ outcome: res.status >= 500 ? 'server-error' : 'success' });
   * } catch {
   *   call.end({ outcome: 'connect-error' });
   * }
   * ```
   */
  startCall(service: string, options: PickOptions = {}): InstanceCall {
    checkPickOptions(options);
    const state = this.#select(service, options.exclude);
    return beginCall(this.#views.get(service)!, state, this.#ctx);
  }

  /**
   * Counts a call to an instance already chosen with {@link pick} as
   * outstanding until `end(result)`, like {@link startCall} without the
   * pick. Returns `undefined` when the instance has left the local view
   * since (nothing is counted then). `ServiceClient` uses it: it picks,
   * checks the instance's circuit breaker, then starts the call.
   *
   * @example
   * ```ts
   * const instance = registry.pick('pricing');
   * const call = registry.trackCall('pricing', instance.id);
   * // ... send the request ...
   * call?.end({ outcome: 'success', latencyMs: 12 });
   * ```
   */
  trackCall(service: string, instanceId: string): InstanceCall | undefined {
    this.#life.assertOpen();
    const view = this.#views.get(service);
    const state = view?.states.get(instanceId);
    if (view === undefined || state === undefined) return undefined;
    return beginCall(view, state, this.#ctx);
  }

  /**
   * The instances of `service` with what this process knows of them
   * (health, ejection, load, latency), watching it first if needed.
   *
   * @example
   * ```ts
   * const down = (await registry.instances('pricing')).filter((i) => !i.healthy);
   * ```
   */
  instances(service: string): Promise<InstanceStatus[]>;
  async instances(service: string, ...extra: unknown[]): Promise<InstanceStatus[]> {
    refuseExtraArguments('registry.instances()', extra);
    await this.watch(service);
    return this.#views.get(service)!.statuses(this.#clock.monotonic());
  }

  /**
   * Runs one round of active health checks over every watched service now
   * (rounds also run every `healthCheck.intervalMs`). Resolves when the
   * round is done; a round already running is joined, not doubled.
   *
   * @example
   * ```ts
   * await registry.checkHealth();
   * ```
   */
  checkHealth(): Promise<void> {
    if (this.#checker === undefined || this.#life.closed) return Promise.resolve();
    return this.#healthRoundWith(this.#checker);
  }

  /**
   * The design's name: checks every instance now and takes failing ones
   * out of picks by the health rules (`unhealthyThreshold` consecutive
   * failures, default 2; `healthyThreshold` passes bring one back). It
   * covers the services this registry registered instances of (watching
   * them) and every watched service. Without the `healthCheck` option it
   * uses the design's check (GET `/health`, 5 s timeout) with the default
   * thresholds. Health is this process's opinion: unlike the design's, it
   * never deregisters an instance from the shared store.
   *
   * @example
   * ```ts
   * await registry.runHealthChecks();
   * ```
   */
  runHealthChecks(): Promise<void>;
  async runHealthChecks(...extra: unknown[]): Promise<void> {
    this.#life.assertOpen();
    refuseExtraArguments('registry.runHealthChecks()', extra);
    const services = this.#registrations.services();
    await Promise.all([...services].map((service) => this.#ensureView(service).ready));
    if (this.#life.closed) return;
    if (this.#checker === undefined) this.#designChecker ??= designHealthChecker();
    await this.#healthRoundWith((this.#checker ?? this.#designChecker)!);
  }

  #healthRoundWith(checker: HealthChecker): Promise<void> {
    if (this.#healthRound !== undefined) return this.#healthRound;
    this.#healthRound = runHealthRound(checker, this.#views.values(), this.#ctx).finally(() => {
      this.#healthRound = undefined;
    });
    return this.#healthRound;
  }

  /**
   * Stops heartbeats, health checks and subscriptions, and (unless
   * `deregisterOnClose: false`) deregisters this registry's instances.
   * Closes the adapter only if the registry created it (an adapter you
   * passed in stays open, for you to close: another registry may share it).
   * Idempotent: every call returns the same promise.
   *
   * @example
   * ```ts
   * process.once('SIGTERM', () => registry.close());
   * ```
   */
  close(): Promise<void> {
    return this.#life.close(async () => {
      this.#healthTimer?.cancel();
      this.#decayTimer?.cancel();
      this.#checker?.close();
      this.#designChecker?.close();
      await this.#registrations.close();
      const views = [...this.#views.values()];
      this.#views.clear();
      await Promise.allSettled(views.map((v) => v.detach()));
      await this.#healthRound?.catch(() => {});
      await this.#ownAdapter?.close();
      this.#ctx.events.clear();
    });
  }

  /**
   * Same as {@link close}.
   *
   * @example
   * ```ts
   * await using registry = new ServiceRegistry();
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #ensureView(service: string): ServiceView {
    return this.#views.get(service) ?? this.#ctx.background(() => this.#newView(service));
  }

  /** Makes and starts loading the view of `service` (in the registry's context). */
  #newView(service: string): ServiceView {
    this.#decayTimer ??= unrefInterval(
      () => decayLatencies(this.#views.values(), this.#ctx.clock),
      LATENCY_DECAY_INTERVAL_MS,
    );
    const view = new ServiceView(service, this.#ctx);
    this.#views.set(service, view);
    view.load();
    return view;
  }

  #select(service: string, exclude: PickOptions['exclude']): InstanceState {
    this.#life.assertOpen();
    const view = this.#views.get(service);
    if (view === undefined || !view.loaded) {
      keyArgument('service', service, 256);
      if (view === undefined) this.#ensureView(service).ready.catch(() => {});
      throw new NoInstancesError(
        `the instances of ${service} are not loaded yet: await registry.watch(service) first`,
        { service },
      );
    }
    return route(view, exclude, this.#clock.monotonic(), this.#ctx);
  }
}
