import type { TimerHandle } from '../internal/timers.js';
import type { Clock } from '../types.js';
import type { Lease } from './lease.js';
import type { ResourceQueue } from './resource-queue.js';

/**
 * What a lease asks of the lock that granted it (its `LeaseDeadlines`, in
 * lease-deadline.ts): the clock, to start watching, to extend, to release.
 *
 * @internal
 */
export interface LeaseOwner {
  readonly clock: Clock;
  /** Starts watching the lease: from now on its signal fires at the deadline. */
  watch(state: LeaseState): void;
  extend(lease: Lease, ttlMs?: number): Promise<boolean>;
  release(lease: Lease): Promise<boolean>;
}

/**
 * Everything a lock knows about one lease; reachable only through the
 * {@link LeaseHandle} it gave out. Its states and transitions are described
 * in lease-deadline.ts.
 *
 * @internal
 */
export interface LeaseState {
  readonly owner: LeaseOwner;
  readonly resource: string;
  readonly fencingToken: number;
  readonly token: string;
  readonly ttlMs: number;
  readonly queue: ResourceQueue;
  /** Created on first access of `lease.signal`. */
  controller: AbortController | undefined;
  /** Why the lease ended (released, expired, lost); undefined while it is live. */
  reason: unknown;
  /** Whether the deadline timer must run (signal read, watchdog, `lost` listeners). */
  watched: boolean;
  deadlineMono: number;
  /** Monotonic time of the server-side expiry as far as we know. */
  expiryMono: number;
  /** Wall-clock form of `expiryMono`, computed on first read. */
  expiresAt: number | undefined;
  released: boolean;
  /** Whether the lease still counts in its queue's `localHolders`. */
  counted: boolean;
  timer: TimerHandle | undefined;
  watchdog: TimerHandle | undefined;
}

/**
 * The lease object handed to callers. Its state is reachable only through
 * {@link LeaseHandle.stateOf}, so a lease cannot be forged by copying its
 * fields, and the signal and wall-clock expiry are made only when read.
 *
 * @internal
 */
export class LeaseHandle implements Lease {
  readonly #state: LeaseState;
  readonly resource: string;
  readonly fencingToken: number;

  constructor(state: LeaseState) {
    this.#state = state;
    this.resource = state.resource;
    this.fencingToken = state.fencingToken;
  }

  /** The state behind `value` if it is a lease handle, else undefined. */
  static stateOf(value: unknown): LeaseState | undefined {
    return typeof value === 'object' && value !== null && #state in value
      ? (value as LeaseHandle).#state
      : undefined;
  }

  get expiresAt(): number {
    const state = this.#state;
    if (state.expiresAt === undefined) {
      const clock = state.owner.clock;
      state.expiresAt = Math.round(clock.now() + (state.expiryMono - clock.monotonic()));
    }
    return state.expiresAt;
  }

  get released(): boolean {
    return this.#state.released;
  }

  get signal(): AbortSignal {
    const state = this.#state;
    if (state.controller === undefined) {
      state.controller = new AbortController();
      if (state.reason !== undefined) state.controller.abort(state.reason);
      else state.owner.watch(state);
    }
    return state.controller.signal;
  }

  extend(ttlMs?: number): Promise<boolean> {
    return this.#state.owner.extend(this, ttlMs);
  }

  release(): Promise<boolean> {
    return this.#state.owner.release(this);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#state.owner.release(this);
  }
}
