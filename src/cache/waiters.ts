import { unrefTimeout } from '../internal/timers.js';

/** A wait started by {@link KeyWaiters.wait}. */
export interface KeyWait {
  /** Resolves when woken, when the wait's time is up, or when cancelled. */
  promise: Promise<void>;
  /** Ends the wait now (idempotent). */
  cancel(): void;
}

/**
 * Callers of this process waiting for another instance's loader to store a
 * key. The bus wakes them when a write of the key is announced; otherwise
 * each wait ends after its poll delay, and the caller reads again.
 */
export class KeyWaiters {
  readonly #waiters = new Map<string, Set<() => void>>();

  /** Waits up to `ms` for a wake-up on `key`. Register first, then re-read: a publish in between is not missed. */
  wait(key: string, ms: number): KeyWait {
    let wake!: () => void;
    const promise = new Promise<void>((resolve) => {
      wake = resolve;
    });
    let set = this.#waiters.get(key);
    if (set === undefined) {
      set = new Set();
      this.#waiters.set(key, set);
    }
    const waiters = set;
    const timer = unrefTimeout(() => finish(), ms);
    const finish = () => {
      timer.cancel();
      waiters.delete(finish);
      if (waiters.size === 0 && this.#waiters.get(key) === waiters) this.#waiters.delete(key);
      wake();
    };
    waiters.add(finish);
    return { promise, cancel: finish };
  }

  /** Wakes every waiter on `key` (a write of it was announced on the bus). */
  wake(key: string): void {
    const waiters = this.#waiters.get(key);
    if (waiters !== undefined) for (const wake of waiters) wake();
  }

  /** Wakes every waiter (used by close). */
  wakeAll(): void {
    for (const set of [...this.#waiters.values()]) for (const wake of [...set]) wake();
  }
}
