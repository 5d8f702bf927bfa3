/**
 * The local view of one watched service: what `pick` reads, kept up to date
 * without ever making a pick wait on the store. A view goes through these
 * states:
 *
 * ```
 *  first use (watch, getServiceInstance, pick, startCall, instances)
 *        │
 *        ▼
 *  LOADING ── subscribe first, then list (a change in between is not lost) ──┐
 *        │ the list fails: watch() rejects with NoInstancesError,            │
 *        │ pick throws; re-read within 1 s                                   │ the list arrives
 *        ▼                                                                   ▼
 *  NOT LOADED, FAILING ─────────── a re-read succeeds ──────────────────► LOADED
 *                                                                            │
 *   LOADED: an announcement (`up`, `down`) is applied at once; `resync` (the │
 *   adapter's subscription reconnected) and the timer re-read the service:   │
 *   REFRESHING ── announcements arriving meanwhile are applied AND buffered; │
 *        │        the list then replaces the view and the buffer is applied  │
 *        │        on top, so whichever came last wins                        │
 *        ├─ the re-read fails: FAILING, the last view keeps serving (nobody  │
 *        │  is dropped because the store is unreachable); retry within 1 s   │
 *        └─ it succeeds: next re-read at the earliest of resyncIntervalMs    │
 *           and the end of the earliest lease held (+ slack)                 │
 *                                                                            │
 *  unwatch() / close() ───────────────────────────────────────────────► DETACHED
 *   timer cancelled, subscription ended; a list or subscribe still in flight
 *   is dropped when it settles (a late subscription is ended at once)
 * ```
 *
 * Why an instance left is always told (`change` `down` with a reason): by
 * its announcement; or, when a re-read is what drops it, by an announcement
 * buffered during the re-read, else by its last known lease: not yet run out
 * means it was deregistered (the announcement is still on the way or was
 * lost), run out means it expired.
 *
 * Leases are kept in this process's wall clock: the store's expiry plus the
 * offset between the two clocks measured at the last list.
 *
 * @module
 */
import type { RegistryChange, RegistryLease } from '../contracts/registry.js';
import { InvalidOptionsError, isScaleoutError } from '../errors.js';
import { withTimeout } from '../internal/abort.js';
import { type TimerHandle, unrefTimeout } from '../internal/timers.js';
import { traced } from '../telemetry/operation-telemetry.js';
import { SCALEOUT } from '../telemetry/semconv.js';
import type { Subscription } from '../types.js';
import type { Balancer } from './balancers/balancer.js';
import { InstanceState } from './instance-state.js';
import { readRegistryLease } from './record-validation.js';
import type { RegistryContext } from './registry-context.js';
import { createInstanceStatus, createServiceInstance, type InstanceStatus } from './service-instance.js';

/** A lease counts as run out this long before its expiry (clock skew, timer lateness), ms. */
const EXPIRY_SLACK_MS = 20;
/** Longest wait before retrying a failed re-read, ms. */
const FAILING_RETRY_MS = 1000;

/**
 * @internal The local view of one service (see the state machine above).
 * Routing (`routing.ts`) reads and rebuilds its candidates; outlier
 * detection and health rounds update its instances' states.
 *
 * @example
 * ```ts
 * const view = new ServiceView('pricing', ctx);
 * ctx.background(() => view.load());
 * await view.ready;
 * ```
 */
export class ServiceView {
  readonly service: string;
  /** Every instance in the view, by id. */
  readonly states = new Map<string, InstanceState>();
  /** What the balancer picks from: routable instances (all of them in panic). */
  candidates: InstanceState[] = [];
  /** The candidates must be rebuilt before the next pick. */
  dirty = false;
  /** Whether panic routing is on. */
  panic = false;
  /** Monotonic time of the earliest end of an ejection (0: none), when the candidates change. */
  nextUnejectAt = 0;
  readonly balancer: Balancer;
  /** Settles when the first load is done (successfully or not). */
  ready: Promise<void> = Promise.resolve();
  /** A list has succeeded at least once. */
  loaded = false;
  /** Why the last list failed, if it did. */
  lastError: unknown = undefined;
  /** Unwatched or closed: nothing more happens to it. */
  detached = false;
  /** This process's wall clock minus the store's, at the last list, ms. */
  offset = 0;
  #failing = false;
  /** Announcements seen during a re-read, while one runs. */
  #buffer: RegistryChange[] | undefined = undefined;
  #refreshing: Promise<void> | undefined = undefined;
  #timer: TimerHandle | undefined = undefined;
  #subscribing = false;
  #subscription: Subscription | undefined = undefined;
  readonly #ctx: RegistryContext;

  constructor(service: string, ctx: RegistryContext) {
    this.service = service;
    this.#ctx = ctx;
    this.balancer = ctx.settings.balancer();
  }

  /** Starts the first load (LOADING); call it in the registry's context. */
  load(): void {
    this.ready = (async () => {
      // Subscribe first, then list: a change between the two is not lost.
      await withTimeout(this.#subscribe(), this.#ctx.settings.operationTimeoutMs).catch(() => {});
      await this.refresh();
    })();
  }

  /** Detaches the view (DETACHED): no more re-reads; its subscription ends (a failure to end it is ignored). */
  async detach(): Promise<void> {
    this.detached = true;
    this.#timer?.cancel();
    await this.#subscription?.unsubscribe().catch(() => {});
  }

  /** Re-reads the service now, joining a re-read already running. */
  refresh(): Promise<void> {
    if (this.#refreshing !== undefined) return this.#refreshing;
    this.#timer?.cancel();
    const ctx = this.#ctx;
    // In the registry's context even when an adapter calls back in another.
    this.#refreshing = ctx.background(async () => {
      this.#buffer = [];
      try {
        const result = await traced(
          ctx.operations,
          'registry list',
          { [SCALEOUT.service]: this.service },
          async (span) => {
            const listed = await withTimeout(
              ctx.adapter.list(this.service),
              ctx.settings.operationTimeoutMs,
              'registry list',
            );
            span?.setAttribute('scaleout.registry.instances', listed.instances?.length ?? 0);
            return listed;
          },
        );
        if (ctx.life.closed) return;
        const buffered = this.#buffer;
        this.#buffer = undefined;
        this.offset = ctx.clock.now() - result.now;
        for (const error of result.skipped ?? []) ctx.events.skipped('list', this.service, error);
        this.#replace(result.instances, buffered);
        for (const change of buffered) this.apply(change, this.offset);
        this.loaded = true;
        this.#failing = false;
        this.lastError = undefined;
        if (this.#subscription === undefined) void this.#subscribe();
      } catch (error) {
        this.#buffer = undefined;
        this.#failing = true;
        this.lastError = error;
        ctx.events.fail('list', this.service, error);
      } finally {
        this.#refreshing = undefined;
        if (!ctx.life.closed) this.#schedule();
      }
    });
    return this.#refreshing;
  }

  /**
   * Applies an announced change (or this process's own registration or
   * deregistration, seen at once); `offset` moves the store's expiry to
   * this process's clock.
   */
  apply(change: RegistryChange, offset: number): void {
    if (change.type === 'up') {
      const lease = this.#admit(change.lease, 'announcement');
      if (lease === undefined) return;
      this.#upsert(lease, offset);
      // An earlier expiry may need an earlier re-read.
      if (!this.#refreshing && this.loaded) this.#schedule();
    } else if (change.type === 'down') {
      const state = this.states.get(change.id);
      if (state !== undefined) this.#remove(change.id, state, change.reason);
    }
  }

  /** The instances with what this process knows of them, sorted by id. */
  statuses(now: number): InstanceStatus[] {
    return [...this.states.values()]
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

  #subscribe(): Promise<void> {
    if (this.#subscribing || this.#subscription !== undefined) return Promise.resolve();
    this.#subscribing = true;
    const ctx = this.#ctx;
    return ctx.adapter
      .subscribe(this.service, (change) => this.#onChange(change))
      .then(
        (subscription) => {
          this.#subscribing = false;
          checkSubscription(subscription);
          if (ctx.life.closed || this.detached) void subscription.unsubscribe().catch(() => {});
          else this.#subscription = subscription;
        },
        (error: unknown) => {
          this.#subscribing = false;
          ctx.events.fail('subscribe', this.service, error);
        },
      )
      .catch((error: unknown) => ctx.events.fail('subscribe', this.service, error));
  }

  #onChange(change: RegistryChange): void {
    if (this.#ctx.life.closed) return;
    if (change.type === 'resync') {
      void this.refresh();
      return;
    }
    if (change.type === 'corrupt') {
      this.#ctx.events.skipped('announcement', this.service, change.error);
      return;
    }
    if (this.#buffer !== undefined) this.#buffer.push(change);
    if (this.loaded) this.apply(change, this.offset);
  }

  #schedule(): void {
    this.#timer?.cancel();
    const ctx = this.#ctx;
    if (ctx.life.closed || this.detached) return;
    let delay = ctx.settings.resyncIntervalMs;
    if (this.#failing) {
      delay = Math.min(delay, FAILING_RETRY_MS);
    } else {
      const now = ctx.clock.now();
      for (const s of this.states.values()) delay = Math.min(delay, s.expiresAt - now + EXPIRY_SLACK_MS);
    }
    // Also when an announcement seen in a caller's turn (its own register) moves it earlier.
    this.#timer = ctx.background(() => unrefTimeout(() => void this.refresh(), Math.max(10, delay)));
  }

  /**
   * Makes the view the listed leases. An instance missing from the list is
   * gone; why is told by the announcement that came in during the list
   * (buffered), else by its last known lease: not yet run out means it was
   * deregistered (its announcement is still on the way), run out means it
   * expired.
   */
  #replace(leases: RegistryLease[], buffered: readonly RegistryChange[] = []): void {
    const seen = new Set<string>();
    for (const listed of leases) {
      const lease = this.#admit(listed, 'list');
      if (lease === undefined) continue;
      seen.add(lease.record.id);
      this.#upsert(lease, this.offset);
    }
    const now = this.#ctx.clock.now();
    for (const [id, state] of this.states) {
      if (seen.has(id)) continue;
      const announced = buffered.find((c) => c.type === 'down' && c.id === id);
      const reason =
        announced?.type === 'down'
          ? announced.reason
          : state.expiresAt - now > EXPIRY_SLACK_MS
            ? 'deregistered'
            : 'expired';
      this.#remove(id, state, reason);
    }
  }

  /**
   * Validates a lease from the adapter as `register` validates its input
   * (whatever the adapter: a third-party one may not check); one that fails
   * is skipped with an `error` event and never handed out.
   */
  #admit(lease: RegistryLease, operation: string): RegistryLease | undefined {
    try {
      const { record, expiresAt } = (
        typeof lease === 'object' && lease !== null ? lease : {}
      ) as Partial<RegistryLease>;
      return readRegistryLease(record, expiresAt, { service: this.service, key: undefined });
    } catch (error) {
      if (!isScaleoutError(error, 'ERR_CORRUPT_DATA')) throw error;
      this.#ctx.events.skipped(operation, this.service, error);
      return undefined;
    }
  }

  #upsert(lease: RegistryLease, offset: number): void {
    const { record } = lease;
    const expiresAt = lease.expiresAt + offset;
    const existing = this.states.get(record.id);
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
        this.dirty = true;
      }
      return;
    }
    const state = new InstanceState(createServiceInstance(record), expiresAt);
    this.states.set(record.id, state);
    this.dirty = true;
    this.#ctx.events.emit('change', {
      service: this.service,
      type: 'up',
      instance: state.instance,
      reason: 'registered',
    });
  }

  #remove(id: string, state: InstanceState, reason: 'deregistered' | 'expired'): void {
    this.states.delete(id);
    this.dirty = true;
    this.#ctx.events.emit('change', {
      service: this.service,
      type: 'down',
      instance: state.instance,
      reason,
    });
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
