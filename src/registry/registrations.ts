/**
 * The registrations this process made, and the heartbeats that keep their
 * leases alive. Each goes through these states:
 *
 * ```
 *  register() ──► STORING: adapter.register, bounded by operationTimeoutMs
 *                   │ fails: forgotten at once; register() rejects, nothing kept
 *                   ▼ stored (this process's own view sees it at once)
 *                 HEARTBEATING: a heartbeat every heartbeatIntervalMs (default
 *                   │ ttlMs / 3), never two at a time, each bounded
 *                   │ - 'renewed': the lease runs ttlMs from now
 *                   │ - 'lost' (it expired, or the store was emptied): register
 *                   │   again, `lease` event (renewed)
 *                   │ - the store is unreachable: `error` event, keep beating
 *                   │   (the lease may still be alive; the next beat may succeed)
 *                   │ - 'taken' (another process registered the same URL: a
 *                   │   restarted instance): stop, forget it, `lease` event (taken)
 *                   ▼
 *  deregister() / close() ──► GONE: heartbeats stop, forgotten; the store
 *                   removes the record only for its owner token (close()
 *                   deregisters unless deregisterOnClose is false: a crash
 *                   leaves the lease to run out)
 * ```
 *
 * Registering the same URL again with the same options joins the first
 * registration (idempotent, as in the design); with other options it throws
 * `DuplicateRegistrationError`, so a new weight is never dropped silently.
 * Deregistering or closing while STORING drops the result when it arrives.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { RegistryRecord } from '../contracts/registry.js';
import { DuplicateRegistrationError, InvalidArgumentError } from '../errors.js';
import { withTimeout } from '../internal/abort.js';
import { type TimerHandle, unrefInterval } from '../internal/timers.js';
import { traced } from '../telemetry/operation-telemetry.js';
import { SCALEOUT } from '../telemetry/semconv.js';
import { checkLeaseTtl, checkRegistration } from './record-validation.js';
import type { RegistryContext } from './registry-context.js';
import { createServiceInstance, type ServiceInstance } from './service-instance.js';
import type { ServiceView } from './service-view.js';

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

interface OwnRegistration {
  record: RegistryRecord;
  instance: ServiceInstance;
  ttlMs: number;
  timer: TimerHandle | undefined;
  beating: boolean;
  /** Settles when the store has the registration: what a repeated identical `register` returns. */
  done: Promise<Registration>;
}

/**
 * @internal This registry's own registrations (see the state machine
 * above). `deregister` is the registry's public method, which each
 * {@link Registration} calls.
 *
 * @example
 * ```ts
 * const own = new Registrations(ctx, views, (service, url) => registry.deregister(service, url));
 * await own.add('pricing', 'http://127.0.0.1:4001', {});
 * ```
 */
export class Registrations {
  readonly #ctx: RegistryContext;
  readonly #views: ReadonlyMap<string, ServiceView>;
  readonly #deregister: (service: string, url: string) => Promise<boolean>;
  readonly #own = new Map<string, OwnRegistration>();

  constructor(
    ctx: RegistryContext,
    views: ReadonlyMap<string, ServiceView>,
    deregister: (service: string, url: string) => Promise<boolean>,
  ) {
    this.#ctx = ctx;
    this.#views = views;
    this.#deregister = deregister;
  }

  /** The services this registry holds registrations of. */
  services(): Set<string> {
    return new Set([...this.#own.values()].map((r) => r.record.service));
  }

  /** Registers `url` for `service` (STORING, then HEARTBEATING); options already key-checked. */
  async add(service: string, url: string, options: RegisterOptions): Promise<Registration> {
    const { id, weight, metadata } = checkRegistration(
      service,
      url,
      options.weight ?? 1,
      options.metadata ?? {},
    );
    const ttlMs = checkLeaseTtl(options.ttlMs ?? this.#ctx.settings.ttlMs);
    const heartbeatIntervalMs = this.#ctx.settings.heartbeatIntervalMs;
    if (heartbeatIntervalMs !== undefined && heartbeatIntervalMs >= ttlMs) {
      throw new InvalidArgumentError('ttlMs must be above the registry heartbeatIntervalMs', {
        argument: 'ttlMs',
      });
    }
    const key = registrationKey(service, id);
    const existing = this.#own.get(key);
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
      registeredAt: this.#ctx.clock.now(),
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
    this.#own.set(key, registration);
    registration.done = this.#store(key, registration);
    return registration.done;
  }

  /** Ends the registration of `id` (a normalised URL) at once; `false` when this registry holds none. */
  async remove(service: string, id: string): Promise<boolean> {
    const key = registrationKey(service, id);
    const registration = this.#own.get(key);
    if (registration === undefined) return false;
    this.#own.delete(key);
    registration.timer?.cancel();
    const view = this.#views.get(service);
    if (view !== undefined) view.apply({ type: 'down', service, id, reason: 'deregistered' }, view.offset);
    await traced(this.#ctx.operations, 'registry deregister', { [SCALEOUT.service]: service }, () =>
      withTimeout(
        this.#ctx.adapter.deregister(service, id, registration.record.owner),
        this.#ctx.settings.operationTimeoutMs,
        'registry deregister',
      ),
    );
    return true;
  }

  /** Stops every heartbeat and, with `deregisterOnClose`, deregisters every registration (failures ignored). */
  async close(): Promise<void> {
    const registrations = [...this.#own.values()];
    this.#own.clear();
    for (const r of registrations) r.timer?.cancel();
    if (this.#ctx.settings.deregisterOnClose) {
      await Promise.allSettled(
        registrations.map((r) =>
          withTimeout(
            this.#ctx.adapter.deregister(r.record.service, r.record.id, r.record.owner),
            this.#ctx.settings.operationTimeoutMs,
          ),
        ),
      );
    }
  }

  async #store(key: string, registration: OwnRegistration): Promise<Registration> {
    const ctx = this.#ctx;
    const { record, instance, ttlMs } = registration;
    const { service, id } = record;
    let expiresAt: number;
    let now: number;
    try {
      ({ expiresAt, now } = await traced(
        ctx.operations,
        'registry register',
        { [SCALEOUT.service]: service },
        () =>
          withTimeout(
            ctx.adapter.register(record, { ttlMs }),
            ctx.settings.operationTimeoutMs,
            'registry register',
          ),
      ));
    } catch (err) {
      if (this.#own.get(key) === registration) this.#own.delete(key);
      throw err;
    }
    if (ctx.life.closed || this.#own.get(key) !== registration) {
      return { instance, deregister: async () => false };
    }
    this.#startHeartbeat(key, registration);
    // Our own view sees it at once, without waiting for the notification.
    const view = this.#views.get(service);
    if (view?.loaded) {
      view.apply({ type: 'up', service, lease: { record, expiresAt } }, ctx.clock.now() - now);
    }
    return { instance, deregister: () => this.#deregister(service, id) };
  }

  /** Heartbeats `registration` in the registry's context (see {@link RegistryContext.background}). */
  #startHeartbeat(key: string, registration: OwnRegistration): void {
    const interval =
      this.#ctx.settings.heartbeatIntervalMs ?? Math.max(10, Math.floor(registration.ttlMs / 3));
    const beat = () => void this.#heartbeat(key, registration);
    registration.timer = this.#ctx.background(() => unrefInterval(beat, interval));
  }

  async #heartbeat(key: string, registration: OwnRegistration): Promise<void> {
    const ctx = this.#ctx;
    if (registration.beating || ctx.life.closed) return;
    registration.beating = true;
    const { record, ttlMs } = registration;
    try {
      const result = await withTimeout(
        ctx.adapter.heartbeat(record.service, record.id, record.owner, { ttlMs }),
        ctx.settings.operationTimeoutMs,
        'registry heartbeat',
      );
      if (this.#own.get(key) !== registration) return;
      if (result.status === 'lost') {
        await withTimeout(
          ctx.adapter.register(record, { ttlMs }),
          ctx.settings.operationTimeoutMs,
          'registry register',
        );
        ctx.events.emit('lease', {
          service: record.service,
          instance: registration.instance,
          status: 'renewed',
        });
      } else if (result.status === 'taken') {
        registration.timer?.cancel();
        this.#own.delete(key);
        ctx.events.emit('lease', {
          service: record.service,
          instance: registration.instance,
          status: 'taken',
        });
      }
    } catch (error) {
      ctx.events.fail('heartbeat', record.service, error);
    } finally {
      registration.beating = false;
    }
  }
}

function registrationKey(service: string, id: string): string {
  return `${service}\n${id}`;
}
