import { randomUUID } from 'node:crypto';
import { MemoryRegistryAdapter } from '../adapters/memory/registry.js';
import type {
  RegistryAdapter,
  RegistryChange,
  RegistryLease,
  RegistryRecord,
} from '../contracts/registry.js';
import {
  ClosedError,
  DuplicateRegistrationError,
  InvalidArgumentError,
  InvalidOptionsError,
  isScaleoutError,
  NoInstancesError,
} from '../errors.js';
import { withTimeout } from '../internal/abort.js';
import { captureContext } from '../internal/async-context.js';
import { TypedEmitter } from '../internal/events.js';
import { type TimerHandle, unrefInterval, unrefTimeout } from '../internal/timers.js';
import { durationOption, keyArgument } from '../internal/validate.js';
import type { Clock, Logger, Subscription } from '../types.js';
import { noopLogger, systemClock } from '../types.js';
import type { Balancer, BalancerCandidate, BalancerFactory } from './balancers/balancer.js';
import { powerOfTwoChoicesBalancer } from './balancers/power-of-two-choices.js';
import { mustBeAwaited } from './design-compat.js';
import { HealthChecker, type HealthCheckerOptions } from './health-checker.js';
import { type OutlierDetectionOptions, resolveOutlierDetection } from './outlier-detection.js';
import {
  checkLeaseTtl,
  checkRegistration,
  normaliseInstanceUrl,
  readRegistryLease,
} from './record-validation.js';
import {
  checkListener,
  checkPickOptions,
  checkRegisterOptions,
  checkServiceRegistryOptions,
  refuseExtraArguments,
} from './registry-options.js';
import {
  createInstanceStatus,
  createServiceInstance,
  type InstanceStatus,
  type ServiceInstance,
} from './service-instance.js';

export { MAX_LEASE_TTL_MS, MIN_LEASE_TTL_MS } from './record-validation.js';

/**
 * Options of {@link ServiceRegistry}.
 *
 * @example
 * ```ts
 * const options: ServiceRegistryOptions = { ttlMs: 10_000, healthCheck: { path: '/healthz' } };
 * ```
 */
export interface ServiceRegistryOptions {
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
 * const heartbeatMs = DEFAULT_SERVICE_REGISTRY_OPTIONS.ttlMs / 3;
 * ```
 */
export const DEFAULT_SERVICE_REGISTRY_OPTIONS = {
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
 * Options of {@link ServiceRegistry.register}.
 *
 * @example
 * ```ts
 * await registry.register('pricing', url, { weight: 2, metadata: { zone: 'a' }, ttlMs: 10_000 });
 * ```
 */
export interface RegisterOptions {
  /**
   * Relative weight for the weighted balancer (and a divisor of cost for P2C).
   * @default 1
   */
  weight?: number;
  /**
   * String metadata shared with every process (zone, version...). At most
   * 64 entries; never put secrets here.
   * @default {}
   */
  metadata?: Record<string, string>;
  /**
   * The lease, ms, within [100, 86_400_000].
   * @default the registry's ttlMs
   */
  ttlMs?: number;
}

/**
 * Options of {@link ServiceRegistry.pick}, {@link ServiceRegistry.startCall} and {@link ServiceRegistry.getServiceInstance}.
 *
 * @example
 * ```ts
 * const retry = registry.pick('pricing', { exclude: [first.id] });
 * ```
 */
export interface PickOptions {
  /** Instance ids not to pick (already tried by this request). */
  exclude?: ReadonlySet<string> | Iterable<string>;
}

/**
 * How a call ended, for outlier detection and latency-aware balancing:
 * `server-error` (5xx), `connect-error` (refused, or the connection broke
 * before a response), `timeout` count as failures; `success` and
 * `client-error` (4xx: the instance answered) as successes; `overloaded`
 * (429: the instance is alive but shedding load) is neither, and its
 * latency is not sampled (a fast refusal must not make the instance look
 * cheap to the balancer); `cancelled` (the caller gave up) is not held
 * against the instance.
 *
 * @example
 * ```ts
 * const outcome: CallOutcome = res.status >= 500 ? 'server-error' : 'success';
 * ```
 */
export type CallOutcome =
  | 'success'
  | 'client-error'
  | 'overloaded'
  | 'server-error'
  | 'connect-error'
  | 'timeout'
  | 'cancelled';

/**
 * What {@link InstanceCall.end} is told.
 *
 * @example
 * ```ts
 * call.end({ outcome: res.status >= 500 ? 'server-error' : 'success' });
 * ```
 */
export interface CallResult {
  /** How the call ended. */
  outcome: CallOutcome;
  /** The call's latency, ms. @default the time since `startCall` */
  latencyMs?: number;
}

/**
 * A call in flight to one instance, from {@link ServiceRegistry.startCall}:
 * it counts as outstanding until {@link InstanceCall.end}.
 *
 * @example
 * ```ts
 * const call = registry.startCall('pricing', { exclude: tried });
 * try {
 *   const res = await fetch(`${call.instance}/quote`);
 *   call.end({ outcome: res.status >= 500 ? 'server-error' : 'success' });
 * } catch {
 *   call.end({ outcome: 'connect-error' });
 * }
 * ```
 */
export interface InstanceCall {
  /** The instance picked for this call. */
  readonly instance: ServiceInstance;
  /** Ends the call (idempotent): releases its outstanding slot and records the result. */
  end(result: CallResult): void;
}

/**
 * A registration made by this process, from {@link ServiceRegistry.register}.
 *
 * @example
 * ```ts
 * const registration = await registry.register('pricing', 'http://127.0.0.1:4001');
 * process.once('SIGTERM', () => registration.deregister());
 * ```
 */
export interface Registration {
  /** The instance as others see it. */
  readonly instance: ServiceInstance;
  /** Deregisters it (same as `registry.deregister(service, url)`); `false` if it was already gone. */
  deregister(): Promise<boolean>;
}

/**
 * Events of {@link ServiceRegistry}.
 *
 * @example
 * ```ts
 * registry.on('change', ({ type, instance }) => log.info(`${type} ${instance.url}`));
 * ```
 */
export type ServiceRegistryEvents = {
  /** An instance joined or left a watched service's view. */
  change: {
    /** The service. */
    service: string;
    /** Joined (`up`) or left (`down`). */
    type: 'up' | 'down';
    /** The instance. */
    instance: ServiceInstance;
    /** Why: a registration, a deregistration, or a lease that ran out. */
    reason: 'registered' | 'deregistered' | 'expired';
  };
  /** Active health checks changed an instance's verdict. */
  health: {
    /** The service. */
    service: string;
    /** The instance. */
    instance: ServiceInstance;
    /** The new verdict. */
    healthy: boolean;
  };
  /** Outlier detection ejected an instance (`ejected: true`) or let it back. */
  ejection: {
    /** The service. */
    service: string;
    /** The instance. */
    instance: ServiceInstance;
    /** Ejected now (`true`) or back (`false`). */
    ejected: boolean;
    /** How long the ejection lasts, ms (0 when it ends). */
    durationMs: number;
  };
  /** A service entered or left panic routing. */
  panic: {
    /** The service. */
    service: string;
    /** Whether panic routing is on. */
    active: boolean;
    /** Instances healthy and not ejected. */
    routable: number;
    /** All instances in the view. */
    total: number;
  };
  /**
   * A registration of this process lost its lease: `renewed` (it had expired
   * or the store was emptied; registered again) or `taken` (another process
   * registered the same URL; this one stopped heartbeating).
   */
  lease: {
    /** The service. */
    service: string;
    /** The instance this process had registered. */
    instance: ServiceInstance;
    /** What happened. */
    status: 'renewed' | 'taken';
  };
  /**
   * A background operation failed (the registry keeps serving its last
   * view), or a record or announcement read from the store was skipped
   * because it is not what scaleout writes (`error` is then a
   * `CorruptDataError` naming the key or channel).
   */
  error: {
    /** `list`, `subscribe`, `heartbeat` or `announcement`. */
    operation: string;
    /** The service concerned. */
    service: string;
    /** The failure. */
    error: unknown;
  };
};

class InstanceState implements BalancerCandidate {
  instance: ServiceInstance;
  weight: number;
  outstanding = 0;
  latencyMs: number | undefined = undefined;
  /** Lease end in this process's wall clock. */
  expiresAt: number;
  healthy = true;
  passes = 0;
  fails = 0;
  warmFrom = 0;
  warmUntil = 0;
  consecutiveFailures = 0;
  /** Monotonic time of the last latency sample (decay starts after it). */
  sampledAt = 0;
  ejectedUntil = 0;
  ejections = 0;
  lastEjectionEnd = 0;

  constructor(instance: ServiceInstance, expiresAt: number) {
    this.instance = instance;
    this.weight = instance.weight;
    this.expiresAt = expiresAt;
  }
}

interface ServiceView {
  service: string;
  states: Map<string, InstanceState>;
  candidates: InstanceState[];
  dirty: boolean;
  panic: boolean;
  nextUnejectAt: number;
  balancer: Balancer;
  ready: Promise<void>;
  loaded: boolean;
  lastError: unknown;
  failing: boolean;
  offset: number;
  buffer: RegistryChange[] | undefined;
  refreshing: Promise<void> | undefined;
  timer: TimerHandle | undefined;
  subscribing: boolean;
  subscription: Subscription | undefined;
}

interface OwnRegistration {
  record: RegistryRecord;
  instance: ServiceInstance;
  ttlMs: number;
  timer: TimerHandle | undefined;
  beating: boolean;
  /** Settles when the store has the registration: what a repeated identical `register` returns. */
  done: Promise<Registration>;
}

const EXPIRY_SLACK_MS = 20;
const WARM_FLOOR = 0.1;
const EWMA_RISE = 0.5;
const EWMA_FALL = 0.2;
/**
 * Latency estimates of instances that got no call for a second shrink by
 * this factor each second (half-life ~6.6 s), so one slow sample cannot keep
 * an instance out of power-of-two-choices forever: it gets tried again, and
 * a new sample raises the estimate again if it is still slow.
 */
const LATENCY_DECAY_PER_SECOND = 0.9;
const LATENCY_DECAY_INTERVAL_MS = 1_000;

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
  readonly #adapter: RegistryAdapter;
  readonly #ownsAdapter: boolean;
  readonly #balancer: BalancerFactory;
  readonly #ttlMs: number;
  readonly #heartbeatIntervalMs: number | undefined;
  readonly #resyncIntervalMs: number;
  readonly #operationTimeoutMs: number;
  readonly #panicThreshold: number;
  readonly #slowStartMs: number;
  readonly #deregisterOnClose: boolean;
  readonly #outliers: Required<OutlierDetectionOptions> | undefined;
  readonly #checker: HealthChecker | undefined;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #events: TypedEmitter<ServiceRegistryEvents>;
  readonly #views = new Map<string, ServiceView>();
  readonly #registrations = new Map<string, OwnRegistration>();
  /** The checker of `runHealthChecks()` when no `healthCheck` option was given. */
  #designChecker: HealthChecker | undefined;
  #healthTimer: TimerHandle | undefined;
  #decayTimer: TimerHandle | undefined;
  /**
   * The context the registry was made in. Views (their loads, re-reads,
   * subscriptions and the `change` events they emit) and heartbeats are
   * shared by every caller: they run in it, never in the context of the
   * request that happened to start them (which they would keep alive).
   */
  readonly #background = captureContext();
  #healthRound: Promise<void> | undefined;
  #closed = false;

  constructor(options: ServiceRegistryOptions = {}) {
    checkServiceRegistryOptions(options);
    const d = DEFAULT_SERVICE_REGISTRY_OPTIONS;
    if (options.adapter !== undefined && (typeof options.adapter !== 'object' || options.adapter === null)) {
      throw new InvalidOptionsError('adapter must be a RegistryAdapter', { option: 'adapter' });
    }
    this.#ownsAdapter = options.adapter === undefined;
    this.#adapter = options.adapter ?? new MemoryRegistryAdapter({ clock: options.clock });
    const balancer = options.balancer ?? d.balancer;
    if (typeof balancer !== 'function') {
      throw new InvalidOptionsError('balancer must be a function that makes a Balancer', {
        option: 'balancer',
      });
    }
    this.#balancer = balancer;
    this.#ttlMs = leaseTtlOption(options.ttlMs ?? d.ttlMs);
    this.#heartbeatIntervalMs =
      options.heartbeatIntervalMs === undefined
        ? undefined
        : durationOption('heartbeatIntervalMs', options.heartbeatIntervalMs, 10);
    if (this.#heartbeatIntervalMs !== undefined && this.#heartbeatIntervalMs >= this.#ttlMs) {
      throw new InvalidOptionsError('heartbeatIntervalMs must be below ttlMs', {
        option: 'heartbeatIntervalMs',
      });
    }
    this.#resyncIntervalMs = durationOption(
      'resyncIntervalMs',
      options.resyncIntervalMs ?? d.resyncIntervalMs,
      10,
    );
    this.#operationTimeoutMs = durationOption(
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
    this.#panicThreshold = panic / 100;
    this.#slowStartMs = durationOption('slowStartMs', options.slowStartMs ?? d.slowStartMs, 0);
    this.#deregisterOnClose = options.deregisterOnClose ?? d.deregisterOnClose;
    this.#outliers =
      options.outlierDetection === false
        ? undefined
        : resolveOutlierDetection(options.outlierDetection ?? {});
    this.#checker = options.healthCheck === undefined ? undefined : new HealthChecker(options.healthCheck);
    this.#logger = options.logger ?? noopLogger;
    this.#clock = options.clock ?? systemClock;
    this.#events = new TypedEmitter(this.#logger);
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
    checkListener(event, listener);
    return this.#events.on(event, listener);
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
    checkListener(event, listener);
    this.#events.off(event, listener);
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
    this.#assertOpen();
    checkRegisterOptions(options);
    const { id, weight, metadata } = checkRegistration(
      service,
      url,
      options.weight ?? 1,
      options.metadata ?? {},
    );
    const ttlMs = checkLeaseTtl(options.ttlMs ?? this.#ttlMs);
    if (this.#heartbeatIntervalMs !== undefined && this.#heartbeatIntervalMs >= ttlMs) {
      throw new InvalidArgumentError('ttlMs must be above the registry heartbeatIntervalMs', {
        argument: 'ttlMs',
      });
    }
    const key = registrationKey(service, id);
    const existing = this.#registrations.get(key);
    if (existing !== undefined) {
      const same =
        existing.ttlMs === ttlMs &&
        existing.record.weight === weight &&
        JSON.stringify(existing.record.metadata) === JSON.stringify(metadata);
      if (same) return existing.done;
      throw new DuplicateRegistrationError(
        `this registry already registered that URL for ${service} with other options: deregister it first`,
        { service },
      );
    }
    const record: RegistryRecord = {
      service,
      id,
      url: id,
      weight,
      metadata,
      owner: randomUUID(),
      registeredAt: this.#clock.now(),
    };
    const instance = createServiceInstance(record);
    const registration: OwnRegistration = {
      record,
      instance,
      ttlMs,
      timer: undefined,
      beating: false,
      done: Promise.resolve({ instance, deregister: async () => false }),
    };
    this.#registrations.set(key, registration);
    registration.done = this.#store(key, registration);
    return registration.done;
  }

  async #store(key: string, registration: OwnRegistration): Promise<Registration> {
    const { record, instance, ttlMs } = registration;
    const { service, id } = record;
    let expiresAt: number;
    let now: number;
    try {
      ({ expiresAt, now } = await withTimeout(
        this.#adapter.register(record, { ttlMs }),
        this.#operationTimeoutMs,
        'registry register',
      ));
    } catch (err) {
      if (this.#registrations.get(key) === registration) this.#registrations.delete(key);
      throw err;
    }
    if (this.#closed || this.#registrations.get(key) !== registration) {
      return { instance, deregister: async () => false };
    }
    this.#startHeartbeat(key, registration);
    // Our own view sees it at once, without waiting for the notification.
    const view = this.#views.get(service);
    if (view?.loaded) {
      this.#apply(view, { type: 'up', service, lease: { record, expiresAt } }, this.#clock.now() - now);
    }
    return { instance, deregister: () => this.deregister(service, id) };
  }

  /** Heartbeats `registration` in the registry's context (see {@link ServiceRegistry.#background}). */
  #startHeartbeat(key: string, registration: OwnRegistration): void {
    const interval = this.#heartbeatIntervalMs ?? Math.max(10, Math.floor(registration.ttlMs / 3));
    const beat = () => void this.#heartbeat(key, registration);
    registration.timer = this.#background(() => unrefInterval(beat, interval));
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
    this.#assertOpen();
    refuseExtraArguments('registry.deregister()', extra);
    keyArgument('service', service, 256);
    const id = normaliseInstanceUrl(url);
    const key = registrationKey(service, id);
    const registration = this.#registrations.get(key);
    if (registration === undefined) return false;
    this.#registrations.delete(key);
    registration.timer?.cancel();
    const view = this.#views.get(service);
    if (view !== undefined)
      this.#apply(view, { type: 'down', service, id, reason: 'deregistered' }, view.offset);
    await withTimeout(
      this.#adapter.deregister(service, id, registration.record.owner),
      this.#operationTimeoutMs,
      'registry deregister',
    );
    return true;
  }

  /**
   * Starts watching `service` (if not yet) and resolves once its view is
   * loaded; after that, {@link pick} and {@link startCall} never wait.
   *
   * @example
   * ```ts
   * await registry.watch('pricing'); // at startup
   * app.get('/quote', (req, res) => { const i = registry.pick('pricing'); ... });
   * ```
   */
  watch(service: string): Promise<void>;
  async watch(service: string, ...extra: unknown[]): Promise<void> {
    this.#assertOpen();
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
    view.timer?.cancel();
    await view.subscription?.unsubscribe().catch(() => {});
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
    this.#assertOpen();
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
   * const started = performance.now();
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
    return this.#begin(this.#views.get(service)!, state);
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
    this.#assertOpen();
    const view = this.#views.get(service);
    const state = view?.states.get(instanceId);
    if (view === undefined || state === undefined) return undefined;
    return this.#begin(view, state);
  }

  #begin(view: ServiceView, state: InstanceState): InstanceCall {
    state.outstanding++;
    const started = this.#clock.monotonic();
    let ended = false;
    return {
      instance: state.instance,
      end: (result: CallResult) => {
        if (ended) return;
        ended = true;
        state.outstanding--;
        this.#record(view, state, result, this.#clock.monotonic() - started);
      },
    };
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
    const view = this.#views.get(service)!;
    const now = this.#clock.monotonic();
    return [...view.states.values()]
      .map((s) =>
        createInstanceStatus(s.instance, {
          healthy: s.healthy,
          ejected: s.ejectedUntil > now,
          warmingUp: s.warmUntil > now,
          outstanding: s.outstanding,
          latencyMs: s.latencyMs,
        }),
      )
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
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
    if (this.#checker === undefined || this.#closed) return Promise.resolve();
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
    this.#assertOpen();
    refuseExtraArguments('registry.runHealthChecks()', extra);
    const services = new Set([...this.#registrations.values()].map((r) => r.record.service));
    await Promise.all([...services].map((service) => this.#ensureView(service).ready));
    if (this.#closed) return;
    if (this.#checker === undefined && this.#designChecker === undefined) {
      this.#designChecker = new HealthChecker({ timeoutMs: 5_000 });
    }
    const checker = (this.#checker ?? this.#designChecker)!;
    await this.#healthRoundWith(checker);
  }

  #healthRoundWith(checker: HealthChecker): Promise<void> {
    if (this.#healthRound !== undefined) return this.#healthRound;
    this.#healthRound = this.#runHealthRound(checker).finally(() => {
      this.#healthRound = undefined;
    });
    return this.#healthRound;
  }

  /**
   * Stops heartbeats, health checks and subscriptions, and (unless
   * `deregisterOnClose: false`) deregisters this registry's instances.
   * Closes the adapter only if the registry created it.
   *
   * @example
   * ```ts
   * process.once('SIGTERM', () => registry.close());
   * ```
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#healthTimer?.cancel();
    this.#decayTimer?.cancel();
    this.#checker?.close();
    this.#designChecker?.close();
    const registrations = [...this.#registrations.values()];
    this.#registrations.clear();
    for (const r of registrations) r.timer?.cancel();
    if (this.#deregisterOnClose) {
      await Promise.allSettled(
        registrations.map((r) =>
          withTimeout(
            this.#adapter.deregister(r.record.service, r.record.id, r.record.owner),
            this.#operationTimeoutMs,
          ),
        ),
      );
    }
    const views = [...this.#views.values()];
    this.#views.clear();
    for (const v of views) v.timer?.cancel();
    await Promise.allSettled(views.map((v) => v.subscription?.unsubscribe()));
    await this.#healthRound?.catch(() => {});
    if (this.#ownsAdapter) await this.#adapter.close();
    this.#events.clear();
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

  // ---- views ----

  #assertOpen(): void {
    if (this.#closed) throw new ClosedError('the service registry is closed');
  }

  #ensureView(service: string): ServiceView {
    return this.#views.get(service) ?? this.#background(() => this.#newView(service));
  }

  /** Makes and starts loading the view of `service` (in the registry's context). */
  #newView(service: string): ServiceView {
    if (this.#decayTimer === undefined) {
      this.#decayTimer = unrefInterval(() => this.#decayLatencies(), LATENCY_DECAY_INTERVAL_MS);
    }
    const view: ServiceView = {
      service,
      states: new Map(),
      candidates: [],
      dirty: false,
      panic: false,
      nextUnejectAt: 0,
      balancer: this.#balancer(),
      ready: Promise.resolve(),
      loaded: false,
      lastError: undefined,
      failing: false,
      offset: 0,
      buffer: undefined,
      refreshing: undefined,
      timer: undefined,
      subscribing: false,
      subscription: undefined,
    };
    this.#views.set(service, view);
    view.ready = (async () => {
      // Subscribe first, then list: a change between the two is not lost.
      await withTimeout(this.#subscribe(view), this.#operationTimeoutMs).catch(() => {});
      await this.#refresh(view);
    })();
    return view;
  }

  #subscribe(view: ServiceView): Promise<void> {
    if (view.subscribing || view.subscription !== undefined) return Promise.resolve();
    view.subscribing = true;
    return this.#adapter
      .subscribe(view.service, (change) => this.#onChange(view, change))
      .then(
        (subscription) => {
          view.subscribing = false;
          checkSubscription(subscription);
          if (this.#closed || this.#views.get(view.service) !== view)
            void subscription.unsubscribe().catch(() => {});
          else view.subscription = subscription;
        },
        (error: unknown) => {
          view.subscribing = false;
          this.#fail('subscribe', view.service, error);
        },
      )
      .catch((error: unknown) => this.#fail('subscribe', view.service, error));
  }

  #onChange(view: ServiceView, change: RegistryChange): void {
    if (this.#closed) return;
    if (change.type === 'resync') {
      void this.#refresh(view);
      return;
    }
    if (change.type === 'corrupt') {
      this.#skipped('announcement', view.service, change.error);
      return;
    }
    if (view.buffer !== undefined) view.buffer.push(change);
    if (view.loaded) this.#apply(view, change, view.offset);
  }

  #refresh(view: ServiceView): Promise<void> {
    if (view.refreshing !== undefined) return view.refreshing;
    view.timer?.cancel();
    // In the registry's context even when an adapter calls back in another.
    view.refreshing = this.#background(async () => {
      view.buffer = [];
      try {
        const result = await withTimeout(
          this.#adapter.list(view.service),
          this.#operationTimeoutMs,
          'registry list',
        );
        if (this.#closed) return;
        const buffered = view.buffer;
        view.buffer = undefined;
        view.offset = this.#clock.now() - result.now;
        for (const error of result.skipped ?? []) this.#skipped('list', view.service, error);
        this.#replace(view, result.instances, buffered);
        for (const change of buffered) this.#apply(view, change, view.offset);
        view.loaded = true;
        view.failing = false;
        view.lastError = undefined;
        if (view.subscription === undefined) void this.#subscribe(view);
      } catch (error) {
        view.buffer = undefined;
        view.failing = true;
        view.lastError = error;
        this.#fail('list', view.service, error);
      } finally {
        view.refreshing = undefined;
        if (!this.#closed) this.#schedule(view);
      }
    });
    return view.refreshing;
  }

  #schedule(view: ServiceView): void {
    view.timer?.cancel();
    if (this.#closed || this.#views.get(view.service) !== view) return; // closed or unwatched
    let delay = this.#resyncIntervalMs;
    if (view.failing) {
      delay = Math.min(delay, 1000);
    } else {
      const now = this.#clock.now();
      for (const s of view.states.values()) delay = Math.min(delay, s.expiresAt - now + EXPIRY_SLACK_MS);
    }
    // Also when an announcement seen in a caller's turn (its own register) moves it earlier.
    view.timer = this.#background(() => unrefTimeout(() => void this.#refresh(view), Math.max(10, delay)));
  }

  /**
   * Makes the view the listed leases. An instance missing from the list is
   * gone; why is told by the announcement that came in during the list
   * (buffered), else by its last known lease: not yet run out means it was
   * deregistered (its announcement is still on the way), run out means it
   * expired.
   */
  #replace(view: ServiceView, leases: RegistryLease[], buffered: readonly RegistryChange[] = []): void {
    const seen = new Set<string>();
    for (const listed of leases) {
      const lease = this.#admit(view, listed, 'list');
      if (lease === undefined) continue;
      seen.add(lease.record.id);
      this.#upsert(view, lease, view.offset);
    }
    const now = this.#clock.now();
    for (const [id, state] of view.states) {
      if (seen.has(id)) continue;
      const announced = buffered.find((c) => c.type === 'down' && c.id === id);
      const reason =
        announced?.type === 'down'
          ? announced.reason
          : state.expiresAt - now > EXPIRY_SLACK_MS
            ? 'deregistered'
            : 'expired';
      this.#remove(view, id, state, reason);
    }
  }

  #apply(view: ServiceView, change: RegistryChange, offset: number): void {
    if (change.type === 'up') {
      const lease = this.#admit(view, change.lease, 'announcement');
      if (lease === undefined) return;
      this.#upsert(view, lease, offset);
      // An earlier expiry may need an earlier re-read.
      if (!view.refreshing && view.loaded) this.#schedule(view);
    } else if (change.type === 'down') {
      const state = view.states.get(change.id);
      if (state !== undefined) this.#remove(view, change.id, state, change.reason);
    }
  }

  /**
   * Validates a lease from the adapter as `register` validates its input
   * (whatever the adapter: a third-party one may not check); one that fails
   * is skipped with an `error` event and never handed out.
   */
  #admit(view: ServiceView, lease: RegistryLease, operation: string): RegistryLease | undefined {
    try {
      const { record, expiresAt } = (
        typeof lease === 'object' && lease !== null ? lease : {}
      ) as Partial<RegistryLease>;
      return readRegistryLease(record, expiresAt, { service: view.service, key: undefined });
    } catch (error) {
      if (!isScaleoutError(error, 'ERR_CORRUPT_DATA')) throw error;
      this.#skipped(operation, view.service, error);
      return undefined;
    }
  }

  #upsert(view: ServiceView, lease: RegistryLease, offset: number): void {
    const { record } = lease;
    const expiresAt = lease.expiresAt + offset;
    const existing = view.states.get(record.id);
    if (existing !== undefined) {
      existing.expiresAt = expiresAt;
      const old = existing.instance;
      if (
        old.url !== record.url ||
        old.weight !== record.weight ||
        old.registeredAt !== record.registeredAt ||
        JSON.stringify(old.metadata) !== JSON.stringify(record.metadata)
      ) {
        existing.instance = createServiceInstance(record);
        existing.weight = record.weight;
        view.dirty = true;
      }
      return;
    }
    const state = new InstanceState(createServiceInstance(record), expiresAt);
    view.states.set(record.id, state);
    view.dirty = true;
    this.#emit('change', {
      service: view.service,
      type: 'up',
      instance: state.instance,
      reason: 'registered',
    });
  }

  #remove(view: ServiceView, id: string, state: InstanceState, reason: 'deregistered' | 'expired'): void {
    view.states.delete(id);
    view.dirty = true;
    this.#emit('change', { service: view.service, type: 'down', instance: state.instance, reason });
  }

  // ---- picking ----

  #select(service: string, exclude: PickOptions['exclude']): InstanceState {
    this.#assertOpen();
    const view = this.#views.get(service);
    if (view === undefined || !view.loaded) {
      keyArgument('service', service, 256);
      if (view === undefined) this.#ensureView(service).ready.catch(() => {});
      throw new NoInstancesError(
        `the instances of ${service} are not loaded yet: await registry.watch(service) first`,
        { service },
      );
    }
    const now = this.#clock.monotonic();
    if (view.nextUnejectAt !== 0 && now >= view.nextUnejectAt) view.dirty = true;
    if (view.dirty) this.#rebuild(view, now);
    const candidates = view.candidates;
    if (candidates.length === 0)
      throw new NoInstancesError(`no instance of ${service} is registered`, { service });
    const excluded = toSet(exclude);
    let chosen = view.balancer.pick(candidates, excluded) as InstanceState | undefined;
    if (chosen === undefined) {
      throw new NoInstancesError(`every instance of ${service} is excluded`, { service });
    }
    if (chosen.warmUntil > now && candidates.length > 1) {
      const ramp = (now - chosen.warmFrom) / (chosen.warmUntil - chosen.warmFrom);
      if (Math.random() >= WARM_FLOOR + (1 - WARM_FLOOR) * ramp) {
        const skip = new Set(excluded ?? []);
        skip.add(chosen.instance.id);
        chosen = (view.balancer.pick(candidates, skip) as InstanceState | undefined) ?? chosen;
      }
    }
    return chosen;
  }

  #rebuild(view: ServiceView, now: number): void {
    view.dirty = false;
    let nextUneject = 0;
    const all: InstanceState[] = [];
    const routable: InstanceState[] = [];
    for (const s of view.states.values()) {
      all.push(s);
      if (s.ejectedUntil !== 0 && s.ejectedUntil <= now) {
        s.ejectedUntil = 0;
        s.lastEjectionEnd = now;
        s.consecutiveFailures = 0;
        this.#warm(s, now);
        this.#emit('ejection', {
          service: view.service,
          instance: s.instance,
          ejected: false,
          durationMs: 0,
        });
      }
      if (s.ejectedUntil !== 0 && (nextUneject === 0 || s.ejectedUntil < nextUneject))
        nextUneject = s.ejectedUntil;
      if (s.healthy && s.ejectedUntil === 0) routable.push(s);
    }
    view.nextUnejectAt = nextUneject;
    const panic = all.length > 0 && routable.length < all.length * this.#panicThreshold;
    view.candidates = panic ? all : routable;
    view.balancer.reset(view.candidates);
    if (panic !== view.panic) {
      view.panic = panic;
      this.#emit('panic', {
        service: view.service,
        active: panic,
        routable: routable.length,
        total: all.length,
      });
    }
  }

  #warm(state: InstanceState, now: number): void {
    if (this.#slowStartMs === 0) return;
    state.warmFrom = now;
    state.warmUntil = now + this.#slowStartMs;
  }

  /** Shrinks the latency estimates of instances that got no call in the last interval. */
  #decayLatencies(): void {
    const quietSince = this.#clock.monotonic() - LATENCY_DECAY_INTERVAL_MS;
    for (const view of this.#views.values()) {
      for (const state of view.states.values()) {
        if (state.latencyMs !== undefined && state.sampledAt <= quietSince) {
          state.latencyMs *= LATENCY_DECAY_PER_SECOND;
        }
      }
    }
  }

  #record(view: ServiceView, state: InstanceState, result: CallResult, elapsedMs: number): void {
    const outcome = result.outcome;
    if (outcome === 'cancelled' || outcome === 'overloaded') return;
    if (outcome !== 'connect-error') {
      const sample = result.latencyMs ?? elapsedMs;
      if (Number.isFinite(sample) && sample >= 0) {
        state.sampledAt = this.#clock.monotonic();
        const current = state.latencyMs;
        state.latencyMs =
          current === undefined
            ? sample
            : current + (sample > current ? EWMA_RISE : EWMA_FALL) * (sample - current);
      }
    }
    const outliers = this.#outliers;
    if (outliers === undefined) return;
    if (outcome === 'success' || outcome === 'client-error') {
      state.consecutiveFailures = 0;
      return;
    }
    state.consecutiveFailures++;
    if (
      state.consecutiveFailures < outliers.consecutiveFailures ||
      view.states.get(state.instance.id) !== state
    ) {
      return;
    }
    const now = this.#clock.monotonic();
    if (state.ejectedUntil > now) return;
    let ejected = 0;
    for (const s of view.states.values()) if (s.ejectedUntil > now) ejected++;
    const total = view.states.size;
    const cap = total >= 2 ? Math.max(1, Math.floor((total * outliers.maxEjectionPercent) / 100)) : 0;
    if (outliers.maxEjectionPercent === 0 || ejected >= cap) return;
    // Each base period without an ejection forgives one earlier ejection.
    if (state.ejections > 0 && state.lastEjectionEnd > 0) {
      const forgiven = Math.floor((now - state.lastEjectionEnd) / outliers.baseEjectionMs);
      state.ejections = Math.max(0, state.ejections - forgiven);
    }
    state.ejections++;
    const durationMs = Math.min(outliers.baseEjectionMs * state.ejections, outliers.maxEjectionMs);
    state.ejectedUntil = now + durationMs;
    state.consecutiveFailures = 0;
    view.dirty = true;
    this.#emit('ejection', { service: view.service, instance: state.instance, ejected: true, durationMs });
  }

  // ---- health checks ----

  async #runHealthRound(checker: HealthChecker): Promise<void> {
    const targets = new Map<ServiceInstance, { view: ServiceView; state: InstanceState }>();
    for (const view of this.#views.values()) {
      if (!view.loaded) continue;
      for (const state of view.states.values()) targets.set(state.instance, { view, state });
    }
    if (targets.size === 0) return;
    const results = await checker.checkAll([...targets.keys()]);
    if (this.#closed) return;
    const { healthyThreshold, unhealthyThreshold } = checker.options;
    const now = this.#clock.monotonic();
    for (const [instance, ok] of results) {
      const { view, state } = targets.get(instance)!;
      if (view.states.get(instance.id) !== state) continue;
      if (ok) {
        state.fails = 0;
        state.passes++;
        if (!state.healthy && state.passes >= healthyThreshold) {
          state.healthy = true;
          state.passes = 0;
          this.#warm(state, now);
          view.dirty = true;
          this.#emit('health', { service: view.service, instance: state.instance, healthy: true });
        }
      } else {
        state.passes = 0;
        state.fails++;
        if (state.healthy && state.fails >= unhealthyThreshold) {
          state.healthy = false;
          state.fails = 0;
          view.dirty = true;
          this.#emit('health', { service: view.service, instance: state.instance, healthy: false });
        }
      }
    }
  }

  // ---- own registrations ----

  async #heartbeat(key: string, registration: OwnRegistration): Promise<void> {
    if (registration.beating || this.#closed) return;
    registration.beating = true;
    const { record, ttlMs } = registration;
    try {
      const result = await withTimeout(
        this.#adapter.heartbeat(record.service, record.id, record.owner, { ttlMs }),
        this.#operationTimeoutMs,
        'registry heartbeat',
      );
      if (this.#registrations.get(key) !== registration) return;
      if (result.status === 'lost') {
        await withTimeout(
          this.#adapter.register(record, { ttlMs }),
          this.#operationTimeoutMs,
          'registry register',
        );
        this.#emit('lease', { service: record.service, instance: registration.instance, status: 'renewed' });
      } else if (result.status === 'taken') {
        registration.timer?.cancel();
        this.#registrations.delete(key);
        this.#emit('lease', { service: record.service, instance: registration.instance, status: 'taken' });
      }
    } catch (error) {
      this.#fail('heartbeat', record.service, error);
    } finally {
      registration.beating = false;
    }
  }

  #skipped(operation: string, service: string, error: unknown): void {
    this.#logger.warn?.('service registry skipped data that is not what scaleout writes', {
      operation,
      service,
      error: error instanceof Error ? error.message : String(error),
    });
    this.#emit('error', { operation, service, error });
  }

  #fail(operation: string, service: string, error: unknown): void {
    this.#logger.warn?.(`service registry ${operation} failed; keeping the last known view`, {
      service,
      error: error instanceof Error ? error.message : String(error),
    });
    this.#emit('error', { operation, service, error });
  }

  #emit<K extends keyof ServiceRegistryEvents>(event: K, payload: ServiceRegistryEvents[K]): void {
    if (this.#events.has(event)) this.#events.emit(event, payload);
  }
}

function registrationKey(service: string, id: string): string {
  return `${service}\n${id}`;
}

function toSet(exclude: PickOptions['exclude']): ReadonlySet<string> | undefined {
  if (exclude === undefined) return undefined;
  if (exclude instanceof Set) return exclude;
  return new Set(exclude);
}

function leaseTtlOption(value: number): number {
  try {
    return checkLeaseTtl(value);
  } catch (err) {
    throw new InvalidOptionsError((err as Error).message, { option: 'ttlMs' });
  }
}

/**
 * An adapter's `subscribe` must resolve to a {@link Subscription}; one
 * written for the earlier contract resolves to a function. Refused loudly
 * (an `error` event; the view then relies on re-reads), with the fix.
 */
function checkSubscription(subscription: Subscription): void {
  if (typeof (subscription as Partial<Subscription> | null)?.unsubscribe === 'function') return;
  if (typeof subscription === 'function')
    void Promise.resolve((subscription as () => unknown)()).catch(() => {});
  throw new InvalidOptionsError(
    'adapter.subscribe() must resolve to a Subscription ({ unsubscribe(): Promise<void> }), not a function: return { unsubscribe: stop } from a RegistryAdapter written for the earlier contract',
    { option: 'adapter' },
  );
}
