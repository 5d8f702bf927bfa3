/**
 * The port between {@link ServiceRegistry} and the store that holds the
 * fleet's registrations.
 *
 * @module
 */

import type { CorruptDataError } from '../errors.js';
import type { Subscription } from '../types.js';

/**
 * One registered instance as the store holds it. `owner` is a random token
 * of the registration that wrote it: a heartbeat or deregistration from
 * another owner does not touch it.
 *
 * @example
 * ```ts
 * const record: RegistryRecord = {
 *   service: 'inventory-service',
 *   id: 'http://10.0.0.7:4001/',
 *   url: 'http://10.0.0.7:4001/',
 *   weight: 1,
 *   metadata: { zone: 'a' },
 *   owner: crypto.randomUUID(),
 *   registeredAt: Date.now(),
 * };
 * ```
 */
export interface RegistryRecord {
  /** The service name. */
  service: string;
  /** The instance id, unique within the service (the normalised URL). */
  id: string;
  /** The instance's base URL. */
  url: string;
  /** Relative weight for weighted balancing; a positive number. */
  weight: number;
  /** Free-form string metadata (zone, version...). */
  metadata: Record<string, string>;
  /** The token of the registration that owns this record. */
  owner: string;
  /** When the registration was made, ms since the epoch. */
  registeredAt: number;
}

/**
 * A live record with the expiry of its lease, in the store's clock.
 *
 * @example
 * ```ts
 * const { instances, now } = await adapter.list('pricing');
 * const soonest = Math.min(...instances.map((i) => i.expiresAt - now));
 * ```
 */
export interface RegistryLease {
  /** The record. */
  record: RegistryRecord;
  /** When the lease ends unless renewed, ms since the epoch in the store's clock. */
  expiresAt: number;
}

/**
 * A change to one service, pushed by {@link RegistryAdapter.subscribe}.
 * `resync` means "changes may have been missed: list again" (for instance
 * after the adapter's subscription reconnected); `corrupt` reports an
 * announcement that was dropped because it is not what scaleout publishes.
 *
 * @example
 * ```ts
 * const subscription = await adapter.subscribe('pricing', (change) => {
 *   if (change.type === 'up') view.set(change.lease.record.id, change.lease);
 *   else if (change.type === 'down') view.delete(change.id);
 *   else reload();
 * });
 * await subscription.unsubscribe();
 * ```
 */
export type RegistryChange =
  | {
      /** A registration was written. */
      type: 'up';
      /** The service. */
      service: string;
      /** The record and its expiry. */
      lease: RegistryLease;
    }
  | {
      /** A record was removed. */
      type: 'down';
      /** The service. */
      service: string;
      /** The removed instance's id. */
      id: string;
      /** Deregistered by its owner, or its lease ran out. */
      reason: 'deregistered' | 'expired';
    }
  | {
      /** Changes may have been missed: list again. */
      type: 'resync';
      /** The service. */
      service: string;
    }
  | {
      /**
       * An announcement that is not what scaleout publishes (junk, a record
       * that fails validation, another service's record) was dropped.
       */
      type: 'corrupt';
      /** The service. */
      service: string;
      /** What was wrong, naming the channel or key. */
      error: CorruptDataError;
    };

/**
 * Options of {@link RegistryAdapter.register} and {@link RegistryAdapter.heartbeat}.
 *
 * @example
 * ```ts
 * await adapter.heartbeat('pricing', id, owner, { ttlMs: 10_000 });
 * ```
 */
export interface RegistryLeaseOptions {
  /** How long the lease lives without a heartbeat, ms. */
  ttlMs: number;
}

/**
 * What {@link RegistryAdapter.register} reports.
 *
 * @example
 * ```ts
 * const { replacedOwner } = await adapter.register(record, { ttlMs: 10_000 });
 * if (replacedOwner !== undefined) logger.warn('took over a live registration');
 * ```
 */
export interface RegistryRegisterResult {
  /** The store's clock when the lease was written, ms since the epoch. */
  now: number;
  /** When the new lease ends, store clock. */
  expiresAt: number;
  /** The owner of a live record that this registration replaced, if any. */
  replacedOwner: string | undefined;
}

/**
 * What {@link RegistryAdapter.heartbeat} reports: `renewed`, `lost` (the
 * record is gone: it expired or the store was emptied; register again) or
 * `taken` (another owner registered the same instance since).
 *
 * @example
 * ```ts
 * const { status } = await adapter.heartbeat('pricing', id, owner, { ttlMs: 10_000 });
 * if (status === 'lost') await adapter.register(record, { ttlMs: 10_000 });
 * ```
 */
export interface RegistryHeartbeatResult {
  /** The outcome. */
  status: 'renewed' | 'lost' | 'taken';
  /** The store's clock, ms since the epoch. */
  now: number;
  /** The new expiry when renewed, store clock. */
  expiresAt: number | undefined;
}

/**
 * A snapshot of one service's live instances.
 *
 * @example
 * ```ts
 * const { instances } = await adapter.list('pricing');
 * ```
 */
export interface RegistryListResult {
  /** Live leases; expired ones have been pruned (and announced as `down`). */
  instances: RegistryLease[];
  /** The store's clock when the list was taken, ms since the epoch. */
  now: number;
  /**
   * Records the store holds for the service that are not what scaleout
   * writes (unreadable, failing the checks of `register`, under another
   * service's name): left out of `instances`, reported here.
   */
  skipped?: CorruptDataError[];
}

/**
 * The store of registrations that {@link ServiceRegistry} runs on. A
 * registration is a lease: it ends `ttlMs` after the last register or
 * heartbeat, without anyone deregistering it. Every operation that sees an
 * expired lease prunes it and announces it as a `down` change.
 *
 * Data read back from the store is validated as strictly as `register`
 * validates its arguments (`readRegistryRecord`): what fails is left out and
 * reported (`skipped`, a `corrupt` change), never handed out.
 *
 * Implementations: `memoryRegistryAdapter()` (one process) and
 * `redisRegistryAdapter()` from `scaleout/redis` (a fleet). Check your own
 * with `registryAdapterConformance` from `scaleout/testing`.
 *
 * @example
 * ```ts
 * const registry = new ServiceRegistry({ adapter: redisRegistryAdapter({ connection: redis }) });
 * ```
 */
export interface RegistryAdapter {
  /**
   * Writes (or replaces) a record and starts its lease. Announces `up`.
   */
  register(record: RegistryRecord, options: RegistryLeaseOptions): Promise<RegistryRegisterResult>;
  /** Extends the lease of a record owned by `owner`. */
  heartbeat(
    service: string,
    id: string,
    owner: string,
    options: RegistryLeaseOptions,
  ): Promise<RegistryHeartbeatResult>;
  /**
   * Removes a record at once if `owner` owns it; announces `down`
   * (`deregistered`). Returns whether a record was removed.
   */
  deregister(service: string, id: string, owner: string): Promise<boolean>;
  /** The live instances of a service (pruning expired ones). */
  list(service: string): Promise<RegistryListResult>;
  /**
   * Calls `listener` for every change of `service` made through any adapter
   * on the same store. Resolves once the subscription is active, with the
   * {@link Subscription} that ends it (`unsubscribe()` is idempotent).
   * `listener` runs in the async context of this call, not in that of the
   * call that made the change or opened a connection.
   */
  subscribe(service: string, listener: (change: RegistryChange) => void): Promise<Subscription>;
  /**
   * Releases what the adapter owns (connections it created, timers), and
   * never a connection it was given. Required.
   */
  close(): Promise<void>;
}
