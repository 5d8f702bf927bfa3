import { ClosedError } from '../errors.js';

/**
 * The one close rule of every primitive and adapter: `close()` runs its
 * teardown once, concurrent and later calls get the same promise, and
 * operations after close fail with {@link ClosedError} naming the object.
 * Ownership is the caller's: tear down only what you created.
 *
 * @example
 * ```ts
 * class Thing {
 *   readonly #life = new Lifecycle('Thing');
 *   get(): void { this.#life.assertOpen(); }
 *   close(): Promise<void> { return this.#life.close(() => this.#teardown()); }
 *   async #teardown(): Promise<void> {}
 *   [Symbol.asyncDispose](): Promise<void> { return this.close(); }
 * }
 * ```
 */
export class Lifecycle {
  readonly #name: string;
  #closing: Promise<void> | undefined;

  constructor(name: string) {
    this.#name = name;
  }

  /** Whether `close()` has been called (teardown may still be running). */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Throws {@link ClosedError} once `close()` has been called. */
  assertOpen(): void {
    if (this.#closing !== undefined) throw new ClosedError(`${this.#name} is closed`);
  }

  /** A {@link ClosedError} naming the object, for paths that reject instead of throwing. */
  closedError(): ClosedError {
    return new ClosedError(`${this.#name} is closed`);
  }

  /** Runs `teardown` on the first call only; every call gets its promise. */
  close(teardown: () => Promise<void> | void): Promise<void> {
    this.#closing ??= (async () => {
      await teardown();
    })();
    return this.#closing;
  }
}
