import type { Logger } from '../types.js';

/** A map from event name to the payload type its listeners receive. */
export type EventMap = Record<string, unknown>;

/** A listener of event `K` of map `E`. */
export type Listener<E extends EventMap, K extends keyof E> = (payload: E[K]) => void;

/**
 * A small synchronous typed event emitter for primitives' events (hit, miss,
 * retry, breaker state...). A listener that throws is reported to the
 * logger and never breaks the caller's operation or the other listeners.
 * `has()` lets hot paths skip building a payload nobody listens to.
 */
export class TypedEmitter<E extends EventMap> {
  readonly #listeners = new Map<keyof E, Set<(payload: never) => void>>();
  readonly #logger: Logger | undefined;

  constructor(logger?: Logger) {
    this.#logger = logger;
  }

  /** Subscribes; returns a function that unsubscribes. */
  on<K extends keyof E>(event: K, listener: Listener<E, K>): () => void {
    let set = this.#listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as (payload: never) => void);
    return () => this.off(event, listener);
  }

  /** Unsubscribes a listener added with {@link on}. */
  off<K extends keyof E>(event: K, listener: Listener<E, K>): void {
    const set = this.#listeners.get(event);
    if (set === undefined) return;
    set.delete(listener as (payload: never) => void);
    if (set.size === 0) this.#listeners.delete(event);
  }

  /** Whether anyone listens to `event`. */
  has(event: keyof E): boolean {
    return this.#listeners.has(event);
  }

  /** Calls every listener of `event` with `payload`, isolating their failures. */
  emit<K extends keyof E>(event: K, payload: E[K]): void {
    const set = this.#listeners.get(event);
    if (set === undefined) return;
    for (const listener of set) {
      try {
        (listener as Listener<E, K>)(payload);
      } catch (err) {
        this.#logger?.error?.('event listener threw', { event: String(event), error: String(err) });
      }
    }
  }

  /** Removes every listener. */
  clear(): void {
    this.#listeners.clear();
  }
}
