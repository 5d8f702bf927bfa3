/**
 * Coalesces concurrent calls per key: while a call for `key` is in flight,
 * further calls for the same key share its promise instead of starting
 * their own. The entry is removed as soon as the call settles, so the next
 * call after that starts afresh.
 */
export class SingleFlight<K, V> {
  readonly #inFlight = new Map<K, Promise<V>>();

  /** Runs `fn` for `key`, or joins the call already in flight for it. */
  do(key: K, fn: () => Promise<V>): Promise<V> {
    const existing = this.#inFlight.get(key);
    if (existing !== undefined) return existing;
    let promise: Promise<V>;
    try {
      promise = Promise.resolve(fn());
    } catch (err) {
      promise = Promise.reject(err);
    }
    const tracked = promise.finally(() => {
      if (this.#inFlight.get(key) === tracked) this.#inFlight.delete(key);
    });
    this.#inFlight.set(key, tracked);
    return tracked;
  }

  /** Whether a call for `key` is in flight. */
  has(key: K): boolean {
    return this.#inFlight.has(key);
  }

  /** Number of keys with a call in flight. */
  get size(): number {
    return this.#inFlight.size;
  }
}
