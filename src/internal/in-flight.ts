/**
 * @internal A count of work in flight and a wait for it to reach zero: the
 * deliveries a consumer handed out and has not settled yet (a
 * `MessageConsumer`'s, whose `close()` waits for them; a RabbitMQ consumer
 * channel's, whose acks must go out on it before the adapter's `close()`
 * closes it).
 *
 * @example
 * ```ts
 * const inFlight = new InFlight();
 * inFlight.add(); // a delivery handed out
 * inFlight.done(); // settled
 * await inFlight.idle(); // resolves at once: none left
 * ```
 */
export class InFlight {
  #count = 0;
  #waiters: Array<() => void> = [];

  /** Deliveries handed out and not settled. */
  get count(): number {
    return this.#count;
  }

  /** A delivery was handed out. */
  add(): void {
    this.#count++;
  }

  /** A delivery was settled (called once per {@link InFlight.add}). */
  done(): void {
    if (this.#count > 0) this.#count--;
    if (this.#count > 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves when no delivery is in flight (at once if none is). */
  idle(): Promise<void> {
    if (this.#count === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}
