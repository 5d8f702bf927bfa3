import type { QueueConnectionState } from '../contracts/queue.js';
import { InvalidArgumentError } from '../errors.js';
import type { Subscription } from '../types.js';

/**
 * @internal What the queue adapters share to report their connection
 * state: re-reads it on every `update()` (called on the back end's
 * connection events) and tells the watchers when it changed. A watcher
 * that throws does not stop the others.
 *
 * @example
 * ```ts
 * const watchers = new ConnectionWatchers(() => (closed ? 'closed' : 'connected'));
 * const sub = watchers.watch((state) => log.info('queue connection', { state }));
 * watchers.update();
 * ```
 */
export class ConnectionWatchers {
  readonly #read: () => QueueConnectionState;
  readonly #listeners = new Set<(state: QueueConnectionState) => void>();
  #last: QueueConnectionState;

  constructor(read: () => QueueConnectionState) {
    this.#read = read;
    this.#last = read();
  }

  /** The state now. */
  get state(): QueueConnectionState {
    return this.#read();
  }

  /** Calls `listener` with each new state until unsubscribed. */
  watch(listener: (state: QueueConnectionState) => void): Subscription {
    if (typeof listener !== 'function') {
      throw new InvalidArgumentError('watchConnection() takes a function', { argument: 'listener' });
    }
    const entry = (state: QueueConnectionState): void => listener(state);
    this.#listeners.add(entry);
    return {
      unsubscribe: async () => {
        this.#listeners.delete(entry);
      },
    };
  }

  /** Re-reads the state; tells the watchers when it changed. */
  update(): void {
    const state = this.#read();
    if (state === this.#last) return;
    this.#last = state;
    for (const listener of [...this.#listeners]) {
      try {
        listener(state);
      } catch {
        // A watcher's failure must not stop the others nor the adapter.
      }
    }
  }
}
