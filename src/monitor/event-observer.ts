import type { EventSourceLike } from '../contracts/event-source.js';
import { InvalidArgumentError } from '../errors.js';
import type { Logger } from '../types.js';
import type { EventLabelValue, EventMetricFamily, EventMetricMapping } from './event-metrics.js';
import type { ObserveErrorEvent } from './monitor-events.js';
import { newEventFamilies, type ResolvedEventMapping, resolveObserveMapping } from './observe-mapping.js';

type Subscribe = (event: string, listener: (payload: unknown) => void) => unknown;

/**
 * @internal The `observe()` half of a monitor: subscribes to other
 * primitives' events and turns each mapped event into a sample of an
 * {@link EventMetricFamily} (a counter, or a histogram with `durationMs`).
 * Families are shared by name across sources; every subscription ends on
 * its unsubscribe function or on {@link close}.
 */
export class EventObserver {
  /** Metric name → family, in the order first observed (the exposition's order). */
  readonly families = new Map<string, EventMetricFamily>();
  /** Events dropped: a mapping threw or returned unusable labels. */
  errors = 0;
  readonly #prefix: string;
  readonly #maxSeries: number;
  readonly #logger: Logger | undefined;
  readonly #unsubscribers = new Set<() => void>();
  readonly #onError: (error: ObserveErrorEvent) => void;

  /** `onError` hears of every dropped event (after the count and the log line). */
  constructor(
    prefix: string,
    maxSeries: number,
    logger: Logger | undefined,
    onError: (error: ObserveErrorEvent) => void,
  ) {
    this.#prefix = prefix;
    this.#maxSeries = maxSeries;
    this.#logger = logger;
    this.#onError = onError;
  }

  /** See `PerformanceMonitor.observe`. */
  observe<P extends Record<string, unknown>>(
    emitter: EventSourceLike,
    source: string,
    mapping: { [K in keyof P]?: EventMetricMapping<P[K]> },
  ): () => void {
    if (emitter === null || typeof emitter !== 'object' || typeof emitter.on !== 'function') {
      throw new InvalidArgumentError('observe() needs an object with on(event, listener)', {
        argument: 'emitter',
      });
    }
    // Every name is checked before anything is subscribed: a refused call changes nothing.
    const events = resolveObserveMapping(source, mapping, this.#prefix);
    const families = newEventFamilies(events, this.families, this.#prefix, this.#maxSeries);
    for (const [name, family] of families) this.families.set(name, family);
    const offs: Array<() => void> = [];
    try {
      this.#subscribeAll(emitter, source, events, offs);
    } catch (err) {
      for (const off of offs) off();
      throw err;
    }
    const unsubscribe = () => {
      if (!this.#unsubscribers.delete(unsubscribe)) return;
      for (const off of offs) off();
    };
    this.#unsubscribers.add(unsubscribe);
    return unsubscribe;
  }

  /** `metric name → label text → figures`, for `toJSON()`. */
  json(): Record<string, unknown> {
    const events: Record<string, unknown> = {};
    for (const [name, family] of this.families) events[name] = family.json();
    return events;
  }

  /** Ends every subscription. */
  close(): void {
    for (const off of [...this.#unsubscribers]) off();
  }

  #subscribeAll(
    emitter: EventSourceLike,
    source: string,
    events: readonly ResolvedEventMapping[],
    offs: Array<() => void>,
  ): void {
    for (const e of events) {
      const target = this.families.get(e.metric)!;
      const listener = (payload: unknown) => {
        try {
          const duration = e.durationMs === undefined ? undefined : e.durationMs(payload);
          if (target.add(e.labels?.(payload) as Record<string, EventLabelValue> | undefined, duration))
            return;
          this.errors++;
          this.#logger?.error?.('observe mapping returned unusable labels; event dropped', {
            source,
            event: e.event,
          });
          this.#onError({ source, event: e.event, reason: 'unusable-labels' });
        } catch (err) {
          this.errors++;
          this.#logger?.error?.('observe mapping threw', { source, event: e.event, error: String(err) });
          this.#onError({ source, event: e.event, reason: 'mapping-threw' });
        }
      };
      const event = e.event;
      const result = (emitter.on as Subscribe).call(emitter, event, listener);
      offs.push(() => {
        if (typeof result === 'function') (result as () => void)();
        else if (typeof emitter.off === 'function') (emitter.off as Subscribe).call(emitter, event, listener);
        else if (typeof emitter.removeListener === 'function') {
          (emitter.removeListener as Subscribe).call(emitter, event, listener);
        }
      });
    }
  }
}
