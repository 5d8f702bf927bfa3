/**
 * Work a cache runs after answering its caller (background refreshes,
 * invalidation publishes, lock releases): tracked so that `settle()` and
 * `close()` can wait for it.
 */
export class BackgroundWork {
  readonly #pending = new Set<Promise<unknown>>();

  /** Tracks `promise` until it settles (its rejection is the caller's to handle). */
  track(promise: Promise<unknown>): void {
    this.#pending.add(promise);
    promise.finally(() => this.#pending.delete(promise)).catch(() => {});
  }

  /** Waits for the tracked work to settle, work started meanwhile included. */
  async settle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }
}
