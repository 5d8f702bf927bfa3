/**
 * The port between the {@link PerformanceMonitor} and the primitives it
 * observes: what it needs from anything that emits events (`on`, and a way
 * to unsubscribe), and, for the presets, which events a cache and a client
 * emit. The monitor imports no primitive class; a `DistributedCache`, a
 * `ServiceClient`, a node `EventEmitter` or a test fake all fit.
 *
 * @module
 */
import type { DistributedCacheEvents } from '../cache/events.js';
import type { ServiceClientEvents } from '../client/service-client-events.js';

/**
 * Anything with `on(event, listener)`: scaleout's typed emitters, a node
 * EventEmitter. `on` may return an unsubscribe function; otherwise `off` or
 * `removeListener` is used to unsubscribe.
 *
 * @example
 * ```ts
 * const source: EventSourceLike = new EventEmitter();
 * ```
 */
export interface EventSourceLike {
  /** Subscribes `listener` to `event`; may return an unsubscribe function. */
  on(event: never, listener: never): unknown;
  /** Unsubscribes (used when `on` returned no function). */
  off?(event: never, listener: never): unknown;
  /** Unsubscribes (node EventEmitter's older name). */
  removeListener?(event: never, listener: never): unknown;
}

/**
 * A source of the events of map `E` (event name → payload): what
 * `observe`-like consumers subscribe to.
 *
 * @example
 * ```ts
 * const source: EventSource<{ tick: { n: number } }> = { on: (event, listener) => () => {} };
 * ```
 */
export interface EventSource<E> {
  /** Subscribes `listener` to `event`; may return an unsubscribe function. */
  on<K extends keyof E & string>(event: K, listener: (payload: E[K]) => void): unknown;
}

/**
 * What `PerformanceMonitor.observeCache` needs from a cache: its events
 * (a `DistributedCache`, or anything emitting the same payloads).
 *
 * @example
 * ```ts
 * const source: CacheEventSource = cache;
 * monitor.observeCache(source, { namespaces: ['users'] });
 * ```
 */
export type CacheEventSource = EventSource<DistributedCacheEvents>;

/**
 * What `PerformanceMonitor.observeClient` needs from a service client: its
 * events (a `ServiceClient`, or anything emitting the same payloads).
 *
 * @example
 * ```ts
 * const source: ClientEventSource = client;
 * monitor.observeClient(source);
 * ```
 */
export type ClientEventSource = EventSource<ServiceClientEvents>;
