import { AsyncResource } from 'node:async_hooks';
import { timerMs } from './timers.js';

/**
 * Many short-lived timeouts on one Node timer.
 *
 * A per-call `setTimeout` + `clearTimeout` allocates a `Timeout`, and when
 * it was the only timer of its duration Node also drops and re-creates the
 * duration's timer list on every call. Here a timeout is an entry in a
 * binary min-heap ordered by due time; one unref'd Node timer is armed for
 * the earliest entry, and only re-armed when a new entry is due earlier
 * than the armed one. Cancelling removes the entry from the heap (O(log n))
 * and leaves the Node timer alone: when it fires early it simply re-arms for
 * the next entry. Calls that finish well before their timeout (the common
 * case) therefore touch no Node timer at all.
 *
 * Times come from `performance.now()` (monotonic), like Node's own timers.
 *
 * Node timers fire late, and on some machines the longer the later: on the
 * 2-core VM of the benches a 1.5 s `setTimeout` fired ~22 ms late, a 10 ms
 * one under 1 ms late. So a long wait is armed to wake up a little early
 * (4% plus 2 ms, at most 100 ms) and then re-armed for what is left; an
 * entry fires within a millisecond or two of its due time, never before it.
 *
 * Async context: each callback runs in the async context of the call that
 * added it (its AsyncLocalStorage stores, its trace), not in that of
 * whichever call happened to arm the shared Node timer. An entry holds an
 * `AsyncResource` created by `add` (about 0.1 µs; `AsyncResource.bind` and
 * `AsyncLocalStorage.snapshot()` cost microseconds each on Node 20, because
 * they define properties on a fresh function); its destroy is emitted when
 * the entry fires or is cancelled. The Node timer itself is armed in the
 * context the queue was created in, so no caller's context is kept alive
 * by the chain of re-armed timers.
 *
 * One of the deadline toolkit's three forms; see `DeadlineSweep`
 * (./deadline-sweep.ts) for the cheaper, coarse one.
 */
export interface QueuedTimeout {
  /** `performance.now()` at which it fires. */
  readonly dueAt: number;
}

interface Entry extends QueuedTimeout {
  dueAt: number;
  fn: () => void;
  /** The async context of the `add` call, which `fn` runs in. */
  context: AsyncResource;
  /** Position in the heap, -1 once fired or cancelled. */
  index: number;
}

/** Waits up to this long are armed as they are; longer ones wake up early and re-arm. */
const EARLY_WAKE_FROM_MS = 20;
const MAX_EARLY_MS = 100;

/** How long to arm a Node timer for a wait of `delayMs` (see the class notes). */
export function firstWakeMs(delayMs: number): number {
  if (delayMs <= EARLY_WAKE_FROM_MS) return Math.max(1, Math.ceil(delayMs));
  return Math.max(1, Math.ceil(delayMs - Math.min(MAX_EARLY_MS, 2 + delayMs * 0.04)));
}

/** A heap of timeouts sharing one unref'd Node timer. */
export class TimeoutQueue {
  readonly #heap: Entry[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** Due time of the armed Node timer (Infinity when none). */
  #armedAt = Number.POSITIVE_INFINITY;
  /** The context the queue was created in: where its Node timer is armed. */
  readonly #home = new AsyncResource('scaleout.TimeoutQueue');
  readonly #fireNow = () => this.#fire();

  /** Entries waiting to fire. */
  get size(): number {
    return this.#heap.length;
  }

  /**
   * Calls `fn` once after `ms` milliseconds, unless cancelled first, in the
   * async context of this call.
   */
  add(ms: number, fn: () => void): QueuedTimeout {
    const entry: Entry = {
      dueAt: performance.now() + ms,
      fn,
      context: new AsyncResource('scaleout.Timeout', { requireManualDestroy: true }),
      index: this.#heap.length,
    };
    this.#heap.push(entry);
    this.#up(entry.index);
    if (entry.dueAt < this.#armedAt) this.#arm(entry.dueAt);
    return entry;
  }

  /** Removes a timeout that has not fired yet; a no-op otherwise. */
  cancel(timeout: QueuedTimeout): void {
    const entry = timeout as Entry;
    if (this.#remove(entry)) entry.context.emitDestroy();
  }

  /** Takes `entry` out of the heap; false when it was not in it. */
  #remove(entry: Entry): boolean {
    const i = entry.index;
    if (i < 0 || this.#heap[i] !== entry) return false;
    entry.index = -1;
    const last = this.#heap.pop()!;
    if (last !== entry) {
      this.#heap[i] = last;
      last.index = i;
      this.#up(i);
      this.#down(last.index);
    }
    return true;
  }

  #arm(dueAt: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#armedAt = dueAt;
    this.#timer = this.#home.runInAsyncScope(
      setTimeout,
      undefined,
      this.#fireNow,
      timerMs(firstWakeMs(dueAt - performance.now())),
    );
    this.#timer.unref();
  }

  #fire(): void {
    this.#timer = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
    const now = performance.now();
    const heap = this.#heap;
    const due: Entry[] = [];
    while (heap.length > 0 && heap[0]!.dueAt <= now) {
      const top = heap[0]!;
      this.#remove(top);
      due.push(top);
    }
    if (heap.length > 0) this.#arm(heap[0]!.dueAt);
    for (const entry of due) {
      try {
        entry.context.runInAsyncScope(entry.fn);
      } catch {
        // a callback's failure is its own; the others still fire
      } finally {
        entry.context.emitDestroy();
      }
    }
  }

  #up(i: number): void {
    const heap = this.#heap;
    const entry = heap[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = heap[p]!;
      if (parent.dueAt <= entry.dueAt) break;
      heap[i] = parent;
      parent.index = i;
      i = p;
    }
    heap[i] = entry;
    entry.index = i;
  }

  #down(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const entry = heap[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && heap[r]!.dueAt < heap[l]!.dueAt ? r : l;
      const child = heap[c]!;
      if (child.dueAt >= entry.dueAt) break;
      heap[i] = child;
      child.index = i;
      i = c;
    }
    heap[i] = entry;
    entry.index = i;
  }
}

/**
 * The deadline queue every primitive's hot path shares (the client's
 * attempt timeouts, and the cache's and the lock's operation deadlines):
 * one heap, one armed Node timer for the whole process. A per-call
 * `withTimeout` (internal/abort.ts) remains the tool off the hot path.
 */
export const SHARED_TIMEOUTS = new TimeoutQueue();
