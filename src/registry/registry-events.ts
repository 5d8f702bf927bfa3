import { TypedEmitter } from '../internal/events.js';
import { listenerChecker } from '../internal/validate.js';
import type { Logger } from '../types.js';
import type { ServiceInstance } from './service-instance.js';

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

const EVENTS = new Set(['change', 'health', 'ejection', 'panic', 'lease', 'error']);

/**
 * @internal Checks an `on`/`off` call: a known event (a typo such as
 * `'chnage'` would otherwise never fire) and a function listener.
 */
export const checkListener = listenerChecker(EVENTS);

/**
 * @internal The registry's events, shared by its parts (views, routing,
 * heartbeats, health rounds): a payload is only delivered when someone
 * listens, and background failures and skipped foreign data also go to the
 * logger, since nobody awaits them.
 *
 * @example
 * ```ts
 * const events = new RegistryEvents(logger);
 * events.fail('list', 'pricing', err); // a warning, and an `error` event
 * ```
 */
export class RegistryEvents {
  readonly #emitter: TypedEmitter<ServiceRegistryEvents>;
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
    this.#emitter = new TypedEmitter(logger);
  }

  /** Subscribes after checking the event name and listener; returns a function that unsubscribes. */
  on<K extends keyof ServiceRegistryEvents>(
    event: K,
    listener: (payload: ServiceRegistryEvents[K]) => void,
  ): () => void {
    checkListener(event, listener);
    return this.#emitter.on(event, listener);
  }

  /** Removes a listener added with {@link on}. */
  off<K extends keyof ServiceRegistryEvents>(
    event: K,
    listener: (payload: ServiceRegistryEvents[K]) => void,
  ): void {
    checkListener(event, listener);
    this.#emitter.off(event, listener);
  }

  /** Delivers `payload` to the listeners of `event`, if any. */
  emit<K extends keyof ServiceRegistryEvents>(event: K, payload: ServiceRegistryEvents[K]): void {
    if (this.#emitter.has(event)) this.#emitter.emit(event, payload);
  }

  /** A background operation failed: the last known view is kept. */
  fail(operation: string, service: string, error: unknown): void {
    this.#logger.warn?.(`service registry ${operation} failed; keeping the last known view`, {
      service,
      error: error instanceof Error ? error.message : String(error),
    });
    this.emit('error', { operation, service, error });
  }

  /** Data read from the store was skipped: it is not what scaleout writes. */
  skipped(operation: string, service: string, error: unknown): void {
    this.#logger.warn?.('service registry skipped data that is not what scaleout writes', {
      operation,
      service,
      error: error instanceof Error ? error.message : String(error),
    });
    this.emit('error', { operation, service, error });
  }

  /** Removes every listener. */
  clear(): void {
    this.#emitter.clear();
  }
}
