/**
 * The spans and metrics of a {@link DistributedCache}: an INTERNAL span
 * `load cache` per loader run (a miss, a background or early refresh),
 * covering the loader and the store of its value, with the loader running
 * in its context (its database calls are its children);
 * `scaleout.cache.load.duration` (seconds, the conventions' buckets). Hits,
 * misses and stale values served are counted (`scaleout.cache.hits` by
 * tier, `scaleout.cache.misses`, `scaleout.cache.stale` by reason): a
 * counter add with constant attributes, no span, and while no SDK is
 * registered one global read per 64 counts (an SDK registered later is
 * picked up within 64 counts). A `getMany` counts each key the same way
 * (one add per tier and outcome, not per key). The key is not recorded (keys
 * often hold user or session ids).
 *
 * @module
 */
import type { Attributes, Context, Counter, Histogram, Span } from '@opentelemetry/api';
import { errorType } from './error-type.js';
import { DURATION_BUCKETS_SECONDS, HTTP } from './semconv.js';
import { Instruments, type Telemetry } from './telemetry.js';

/** @internal The trace of one loader run. */
export interface LoadTrace {
  readonly span: Span | undefined;
  readonly context: Context | undefined;
  readonly startedAt: number;
  readonly kind: string;
}

/** Why a stale value was served (the `stale` event's reasons). */
type StaleReason = 'grace' | 'loader-error' | 'soft-timeout' | 'backend-down';

/** The attributes of each count, made once: a hit adds to a counter and allocates nothing. */
const TIER: Readonly<Record<'l1' | 'l2', Attributes>> = {
  l1: Object.freeze({ 'scaleout.cache.tier': 'l1' }),
  l2: Object.freeze({ 'scaleout.cache.tier': 'l2' }),
};
const STALE: Readonly<Record<StaleReason, Attributes>> = {
  grace: Object.freeze({ 'scaleout.cache.stale.reason': 'grace' }),
  'loader-error': Object.freeze({ 'scaleout.cache.stale.reason': 'loader-error' }),
  'soft-timeout': Object.freeze({ 'scaleout.cache.stale.reason': 'soft-timeout' }),
  'backend-down': Object.freeze({ 'scaleout.cache.stale.reason': 'backend-down' }),
};
const NONE: Attributes = Object.freeze({});

/** Counts between two looks for a meter provider while none records them. */
const RECHECK_EVERY = 64;

interface CacheInstruments {
  load: Histogram;
  hits: Counter;
  misses: Counter;
  stale: Counter;
}

/** @internal */
export class CacheTelemetry {
  readonly #telemetry: Telemetry;
  readonly #instruments: Instruments<CacheInstruments>;
  /** Counts left before the counters look for a meter provider again. */
  #skip = 0;

  constructor(telemetry: Telemetry) {
    this.#telemetry = telemetry;
    this.#instruments = new Instruments(telemetry, (meter) => ({
      load: meter.createHistogram('scaleout.cache.load.duration', {
        unit: 's',
        description: 'Duration of cache loader runs (load and store), by kind.',
        advice: { explicitBucketBoundaries: [...DURATION_BUCKETS_SECONDS] },
      }),
      hits: meter.createCounter('scaleout.cache.hits', {
        unit: '{hit}',
        description: 'Reads answered with a fresh value, by tier (l1: in-process, l2: the adapter).',
      }),
      misses: meter.createCounter('scaleout.cache.misses', {
        unit: '{miss}',
        description: 'Reads that found no fresh value.',
      }),
      stale: meter.createCounter('scaleout.cache.stale', {
        unit: '{value}',
        description: 'Stale values served, by reason.',
      }),
    }));
  }

  /**
   * The counters, or `undefined` when nothing records them. With nothing
   * to record, the next `RECHECK_EVERY` counts skip even the global
   * read (a hit is a hot path): an SDK registered later is picked up
   * within that many counts.
   */
  #counters(): CacheInstruments | undefined {
    if (this.#skip > 0) {
      this.#skip--;
      return undefined;
    }
    const instruments = this.#telemetry.idle() ? undefined : this.#instruments.get();
    if (instruments === undefined) this.#skip = RECHECK_EVERY;
    return instruments;
  }

  /** Counts a hit of `tier`. */
  hit(tier: 'l1' | 'l2'): void {
    this.#counters()?.hits.add(1, TIER[tier]);
  }

  /** Counts a miss. */
  miss(): void {
    this.#counters()?.misses.add(1, NONE);
  }

  /**
   * Counts one `getMany`: `l1` and `l2` hits and `misses` (keys), one
   * counter add per non-zero count, none at all while nothing records.
   */
  many(l1: number, l2: number, misses: number): void {
    const counters = this.#counters();
    if (counters === undefined) return;
    if (l1 > 0) counters.hits.add(l1, TIER.l1);
    if (l2 > 0) counters.hits.add(l2, TIER.l2);
    if (misses > 0) counters.misses.add(misses, NONE);
  }

  /** Counts a stale value served. */
  stale(reason: StaleReason): void {
    this.#counters()?.stale.add(1, STALE[reason]);
  }

  /** Starts tracing a loader run; `undefined`: nothing to record. */
  start(background: boolean, early: boolean): LoadTrace | undefined {
    if (this.#telemetry.idle()) return undefined;
    const tracer = this.#telemetry.tracer();
    if (tracer === undefined && this.#instruments.get() === undefined) return undefined;
    const kind = early ? 'early-refresh' : background ? 'refresh' : 'miss';
    const api = this.#telemetry.api;
    const parent = api.context.active();
    const span = tracer?.startSpan(
      'load cache',
      { attributes: { 'scaleout.cache.load.kind': kind } },
      parent,
    );
    return {
      span,
      context: span === undefined ? undefined : api.trace.setSpan(parent, span),
      startedAt: performance.now(),
      kind,
    };
  }

  /** Runs the loader in the run's context. */
  run<R>(trace: LoadTrace, fn: () => R): R {
    return trace.context === undefined ? fn() : this.#telemetry.api.context.with(trace.context, fn);
  }

  /** Ends it (with the error, when the loader or the store failed). */
  end(trace: LoadTrace, error?: unknown): void {
    const type = error === undefined ? undefined : errorType(error);
    const span = trace.span;
    if (type !== undefined && span?.isRecording()) {
      span.setAttribute(HTTP.errorType, type);
      span.setStatus({ code: this.#telemetry.api.SpanStatusCode.ERROR });
    }
    span?.end();
    const attributes: Record<string, string> = { 'scaleout.cache.load.kind': trace.kind };
    if (type !== undefined) attributes[HTTP.errorType] = type;
    this.#instruments.get()?.load.record((performance.now() - trace.startedAt) / 1000, attributes);
  }
}
