import type {
  RegistryAdapter,
  RegistryChange,
  RegistryHeartbeatResult,
  RegistryLease,
  RegistryLeaseOptions,
  RegistryListResult,
  RegistryRecord,
  RegistryRegisterResult,
} from '../../contracts/registry.js';
import { InvalidArgumentError } from '../../errors.js';
import { bindToCurrentContext } from '../../internal/async-context.js';
import { Lifecycle } from '../../internal/lifecycle.js';
import { optionsChecker } from '../../internal/validate.js';
import { checkLeaseTtl, validateRegistryRecord } from '../../registry/record-validation.js';
import type { Clock, Subscription } from '../../types.js';
import { systemClock } from '../../types.js';

/** Options of {@link memoryRegistryAdapter}.
 *
 * @example
 * ```ts
 * const adapter = memoryRegistryAdapter({ clock: systemClock });
 * ```
 */
export interface MemoryRegistryAdapterOptions {
  /**
   * The clock leases expire by (inject one in tests).
   * @default systemClock
   */
  clock?: Clock;
}

type Listener = (change: RegistryChange) => void;

const checkMemoryRegistryAdapterOptions = optionsChecker({
  where: 'memoryRegistryAdapter options',
  keys: ['clock'],
});

/**
 * A {@link RegistryAdapter} that keeps registrations in this process: every
 * {@link ServiceRegistry} given the same adapter shares one view. Leases
 * expire lazily: any operation on a service prunes its expired records and
 * announces them as `down`, so no timer runs per record.
 *
 * It never holds foreign data: `register` refuses a record that fails the
 * checks every store's records are read back with (`InvalidArgumentError`),
 * and records are copied in and out, so nothing outside can change them.
 *
 * @example
 * ```ts
 * const adapter = memoryRegistryAdapter();
 * const a = new ServiceRegistry({ adapter });
 * const b = new ServiceRegistry({ adapter }); // sees what `a` registers
 * ```
 */
export class MemoryRegistryAdapter implements RegistryAdapter {
  readonly #services = new Map<string, Map<string, RegistryLease>>();
  readonly #listeners = new Map<string, Set<Listener>>();
  readonly #clock: Clock;
  readonly #life = new Lifecycle('the memory registry adapter');

  constructor(options: MemoryRegistryAdapterOptions = {}) {
    checkMemoryRegistryAdapterOptions(options);
    this.#clock = options.clock ?? systemClock;
  }

  async register(record: RegistryRecord, options: RegistryLeaseOptions): Promise<RegistryRegisterResult> {
    this.#assertOpen();
    record = checkRecord(record);
    checkLeaseTtl(options?.ttlMs);
    const now = this.#clock.now();
    const leases = this.#prune(record.service, now);
    const previous = leases.get(record.id);
    this.#services.set(record.service, leases);
    const lease: RegistryLease = { record: structuredClone(record), expiresAt: now + options.ttlMs };
    leases.set(record.id, lease);
    this.#publish({ type: 'up', service: record.service, lease: structuredClone(lease) });
    return {
      now,
      expiresAt: lease.expiresAt,
      replacedOwner:
        previous !== undefined && previous.record.owner !== record.owner ? previous.record.owner : undefined,
    };
  }

  async heartbeat(
    service: string,
    id: string,
    owner: string,
    options: RegistryLeaseOptions,
  ): Promise<RegistryHeartbeatResult> {
    this.#assertOpen();
    checkLeaseTtl(options?.ttlMs);
    const now = this.#clock.now();
    const lease = this.#prune(service, now).get(id);
    if (lease === undefined) return { status: 'lost', now, expiresAt: undefined };
    if (lease.record.owner !== owner) return { status: 'taken', now, expiresAt: undefined };
    lease.expiresAt = Math.max(lease.expiresAt, now + options.ttlMs);
    return { status: 'renewed', now, expiresAt: lease.expiresAt };
  }

  async deregister(service: string, id: string, owner: string): Promise<boolean> {
    this.#assertOpen();
    const leases = this.#prune(service, this.#clock.now());
    const lease = leases.get(id);
    if (lease === undefined || lease.record.owner !== owner) return false;
    leases.delete(id);
    if (leases.size === 0) this.#services.delete(service);
    this.#publish({ type: 'down', service, id, reason: 'deregistered' });
    return true;
  }

  async list(service: string): Promise<RegistryListResult> {
    this.#assertOpen();
    const now = this.#clock.now();
    const leases = this.#prune(service, now);
    return { now, instances: [...leases.values()].map((l) => structuredClone(l)) };
  }

  async subscribe(service: string, listener: (change: RegistryChange) => void): Promise<Subscription> {
    this.#assertOpen();
    let set = this.#listeners.get(service);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(service, set);
    }
    // A wrapper per call, so that subscribing the same function twice gives
    // two subscriptions; it runs in the async context of this call, not the
    // publisher's.
    const entry: Listener = bindToCurrentContext((change: RegistryChange) => listener(change));
    set.add(entry);
    return {
      unsubscribe: async () => {
        const current = this.#listeners.get(service);
        current?.delete(entry);
        if (current?.size === 0) this.#listeners.delete(service);
      },
    };
  }

  /** Ends every subscription; later calls throw `ClosedError`. Idempotent: every call gets the same promise. */
  close(): Promise<void> {
    return this.#life.close(() => this.#listeners.clear());
  }

  #assertOpen(): void {
    this.#life.assertOpen();
  }

  #prune(service: string, now: number): Map<string, RegistryLease> {
    const leases = this.#services.get(service);
    if (leases === undefined) return new Map();
    for (const [id, lease] of leases) {
      if (lease.expiresAt <= now) {
        leases.delete(id);
        this.#publish({ type: 'down', service, id, reason: 'expired' });
      }
    }
    if (leases.size === 0) this.#services.delete(service);
    return leases;
  }

  #publish(change: RegistryChange): void {
    const set = this.#listeners.get(change.service);
    if (set === undefined) return;
    // Delivered asynchronously, like a real pub/sub, and isolated from each other.
    for (const listener of [...set]) {
      queueMicrotask(() => {
        try {
          listener(change);
        } catch {
          // A listener's failure is its own; the store is unaffected.
        }
      });
    }
  }
}

/** The record as `register` would have made it, or `InvalidArgumentError`. */
function checkRecord(record: RegistryRecord): RegistryRecord {
  const service = (record as Partial<RegistryRecord> | null)?.service;
  const checked = validateRegistryRecord(record, typeof service === 'string' ? service : '');
  if (typeof checked === 'string') {
    throw new InvalidArgumentError(`the memory registry adapter refuses this record: ${checked}`, {
      argument: 'record',
    });
  }
  return checked;
}

/**
 * Makes a {@link MemoryRegistryAdapter}: registrations live in this process.
 * The default adapter of {@link ServiceRegistry}.
 *
 * @example
 * ```ts
 * const registry = new ServiceRegistry({ adapter: memoryRegistryAdapter() });
 * ```
 */
export function memoryRegistryAdapter(options: MemoryRegistryAdapterOptions = {}): MemoryRegistryAdapter {
  return new MemoryRegistryAdapter(options);
}
