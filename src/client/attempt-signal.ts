type AbortListener = (this: AttemptSignal, event: { type: 'abort'; target: AttemptSignal }) => void;

/**
 * @internal A minimal abort signal for one attempt, in the shape axios
 * documents for `signal` (its `GenericAbortSignal`): `aborted`, `reason`,
 * `addEventListener` / `removeEventListener`. Node's `AbortController` costs
 * microseconds per listener added and removed (EventTarget), which is a
 * measurable share of a keep-alive loopback call; this costs an array push.
 * It never leaves the client except as axios's `config.signal`.
 */
export class AttemptSignal {
  aborted = false;
  reason: unknown = undefined;
  onabort: ((event: { type: 'abort' }) => void) | null = null;
  // One listener (the common case: axios's) in a field; more in an array.
  #listener: AbortListener | undefined;
  #listeners: AbortListener[] | undefined;

  addEventListener(type: string, listener: AbortListener): void {
    if (type !== 'abort' || this.aborted) return;
    if (this.#listener === undefined && this.#listeners === undefined) this.#listener = listener;
    else if (this.#listeners === undefined) {
      this.#listeners = [this.#listener!, listener];
      this.#listener = undefined;
    } else this.#listeners.push(listener);
  }

  removeEventListener(type: string, listener: AbortListener): void {
    if (type !== 'abort') return;
    if (this.#listener === listener) {
      this.#listener = undefined;
      return;
    }
    const i = this.#listeners?.indexOf(listener) ?? -1;
    if (i !== -1) this.#listeners!.splice(i, 1);
  }

  /**
   * `work`, rejected with the abort reason as soon as this signal aborts.
   * While a race is pending, abort settles it first and calls the listeners
   * (axios tearing the request and its socket down) on the next turn of
   * the event loop, so the caller learns of a timeout without waiting for
   * that teardown (several ms on a machine waking from idle).
   */
  race<T>(work: Promise<T>): Promise<T> {
    if (this.aborted) {
      work.then(undefined, () => {});
      return Promise.reject(this.reason);
    }
    return new Promise<T>((resolve, reject) => {
      this.#settle = reject;
      work.then(resolve, reject);
    });
  }

  #settle: ((reason: unknown) => void) | undefined;

  /** Fires once: marks the signal aborted with `reason` and calls every listener (their errors are swallowed). */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const settle = this.#settle;
    if (settle === undefined) {
      this.#notify();
      return;
    }
    this.#settle = undefined;
    settle(reason);
    setImmediate(() => this.#notify());
  }

  #notify(): void {
    const event = { type: 'abort' as const, target: this };
    const listeners = this.#listeners ?? (this.#listener === undefined ? undefined : [this.#listener]);
    this.#listener = undefined;
    this.#listeners = undefined;
    if (listeners !== undefined) {
      for (const listener of listeners) {
        try {
          listener.call(this, event);
        } catch {
          // a listener's failure must not stop the others
        }
      }
    }
    try {
      this.onabort?.(event);
    } catch {
      // same
    }
  }

  /** Seen as an `AbortSignal` by code that only reads `aborted`/`reason` and adds listeners. */
  asAbortSignal(): AbortSignal {
    return this as unknown as AbortSignal;
  }
}
