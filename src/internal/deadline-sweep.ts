import { TimeoutError } from '../errors.js';
import { captureContext } from './async-context.js';
import { type TimerHandle, unrefInterval } from './timers.js';

/**
 * The deadline toolkit's hot-path form, for many calls that share one time
 * limit and tolerate a coarse deadline: the time limit of every adapter call
 * of a lock (`operationTimeoutMs`).
 *
 * The toolkit's three forms, cheapest last:
 * - `withTimeout` (./abort.ts): one Node timer per call; for rare calls.
 * - `TimeoutQueue` (./timeout-queue.ts): a heap of due times on one Node
 *   timer, each entry firing within a millisecond or two of its own due time
 *   and in the async context of its `add` call; a clock read, heap work
 *   and an `AsyncResource` per call.
 * - `DeadlineSweep` (here): no clock read, no heap, no per-call context.
 *   One shared, unref'd interval (every tenth of the limit, at least 5 ms,
 *   at most 250 ms) counts ticks; a call records the tick it started in and
 *   times out on the first sweep at least `timeoutMs` after it started, so
 *   up to one sweep period (a tenth of the limit) late. The interval stops
 *   once nothing is in flight and restarts with the next call.
 *
 * Per call that is one array push and one swap-remove. On the lock's
 * acquire + release cycle (two adapter calls, memory adapter) the lock
 * costs 7-8% more CPU per cycle on the `TimeoutQueue` form than on this
 * one (median of 8 interleaved runs, 2.22 -> 2.38 µs): a clock read, heap
 * work and an `AsyncResource` per call, against a tick counter. A timeout
 * needs no context of its own here: the rejection reaches the caller
 * through the promise chain, whose continuations run in the caller's
 * context.
 *
 * A call leaves the in-flight array as soon as it settles (swapped with the
 * last entry), so settled calls are never retained until a sweep: at
 * thousands of calls per second they would outlive the young generation and
 * make garbage collection expensive. A call that times out rejects with
 * `TimeoutError`; its late outcome is ignored (a late rejection is never
 * unhandled).
 *
 * @example
 * ```ts
 * const deadlines = new DeadlineSweep(5_000, 'lock');
 * const result = await deadlines.track(adapter.acquire(request), 'acquire');
 * deadlines.stop(); // in close()
 * ```
 */
export class DeadlineSweep {
  readonly #timeoutMs: number;
  readonly #label: string;
  readonly #sweepMs: number;
  /** Sweeps after which a call has run at least `timeoutMs`. */
  readonly #ticks: number;
  /** Calls in flight, unordered: a call is swapped out as soon as it settles. */
  readonly #inFlight: InFlight[] = [];
  #sweeper: TimerHandle | undefined;
  /** Sweep counter: time is measured in sweeps, so no clock read per call. */
  #tick = 0;
  /**
   * The context the sweep was made in (its owner's construction): the
   * interval starts in it, never in the context of the request that
   * happened to start it first (which it would also keep alive).
   */
  readonly #background = captureContext();
  readonly #sweepNow = () => this.#sweep();

  /** Calls time out after `timeoutMs`; the error reads "`label` `what` timed out after...". */
  constructor(timeoutMs: number, label: string) {
    this.#timeoutMs = timeoutMs;
    this.#label = label;
    this.#sweepMs = Math.max(5, Math.min(250, Math.floor(timeoutMs / 10)));
    // A call started during tick t has run at least (now - t - 1) full sweep periods.
    this.#ticks = Math.ceil(timeoutMs / this.#sweepMs) + 1;
  }

  /** `promise`, or a `TimeoutError` once it has run past the time limit. */
  track<T>(promise: Promise<T>, what: string): Promise<T> {
    const inFlight = this.#inFlight;
    let entry!: InFlight;
    const wrapped = new Promise<T>((resolve, reject) => {
      entry = { tick: this.#tick, index: inFlight.length, what, source: promise, reject };
      promise.then(
        (value) => {
          if (this.#settle(entry)) resolve(value);
        },
        (err: unknown) => {
          if (this.#settle(entry)) reject(err);
        },
      );
    });
    inFlight.push(entry);
    if (this.#sweeper === undefined) {
      // #sweepNow, not a closure made here: that would share this call's
      // scope (its promises, and so its async context) for the sweeper's life.
      this.#sweeper = this.#background(() => unrefInterval(this.#sweepNow, this.#sweepMs));
    }
    return wrapped;
  }

  /** Stops the interval (calls still in flight then never time out); `track` restarts it. */
  stop(): void {
    this.#sweeper?.cancel();
    this.#sweeper = undefined;
  }

  /** Takes a call out of the in-flight array; false if it already left (timed out). */
  #settle(entry: InFlight): boolean {
    const i = entry.index;
    if (i < 0) return false;
    entry.index = -1;
    const inFlight = this.#inFlight;
    const last = inFlight.pop()!;
    if (last !== entry) {
      inFlight[i] = last;
      last.index = i;
    }
    return true;
  }

  #sweep(): void {
    this.#tick += 1;
    const inFlight = this.#inFlight;
    if (inFlight.length === 0) {
      this.stop();
      return;
    }
    const failed = inFlight.filter((entry) => this.#tick - entry.tick >= this.#ticks);
    const timeoutMs = this.#timeoutMs;
    for (const entry of failed) {
      this.#settle(entry);
      entry.source.catch(() => {});
      entry.reject(
        new TimeoutError(`${this.#label} ${entry.what} timed out after ${timeoutMs} ms`, { timeoutMs }),
      );
    }
  }
}

interface InFlight {
  /** The sweep tick at which the call started. */
  readonly tick: number;
  /** Its place in the in-flight array; -1 once it settled or timed out. */
  index: number;
  readonly what: string;
  readonly source: Promise<unknown>;
  readonly reject: (err: unknown) => void;
}
