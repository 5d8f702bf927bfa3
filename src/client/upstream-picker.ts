import type { UpstreamInstance, UpstreamSource } from '../contracts/upstream.js';
import { NoUpstreamError } from '../errors.js';
import { LruMap } from '../internal/lru.js';
import {
  CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitPermit,
  type CircuitStateChange,
} from '../resilience/circuit-breaker.js';
import type { Clock, Logger } from '../types.js';
import type { CallState } from './call-state.js';
import { isCallableInstance } from './request-url.js';

/** Picks per attempt before giving up on finding an instance with a closed circuit. */
const MAX_PICKS = 16;
/** Most instances whose breaker is remembered (the least recently used go first). */
const MAX_INSTANCES = 1_024;
const NO_IDS: readonly string[] = [];

/**
 * An instance chosen for an attempt, with its breaker and the permit to
 * give back when the attempt ends.
 *
 * @internal
 */
export interface Picked {
  instance: UpstreamInstance;
  breaker: CircuitBreaker | undefined;
  permit: CircuitPermit;
}

/** The last CircuitOpenError met while picking. */
interface OpenCircuit {
  error: unknown;
}

/**
 * What {@link UpstreamPicker} is built from.
 *
 * @internal
 */
export interface UpstreamPickerOptions {
  /** The service name (or redacted base URL), passed to `source.pick`. */
  readonly service: string;
  /** The one instance of a `{ baseUrl }` target. */
  readonly fixed: UpstreamInstance | undefined;
  /** Where instances come from, for a `{ service, registry }` target. */
  readonly source: UpstreamSource | undefined;
  /** Options of each instance's breaker, or `false` for none. */
  readonly breaker: Omit<CircuitBreakerOptions, 'onStateChange' | 'clock' | 'isFailure'> | false;
  readonly clock: Clock;
  readonly logger: Logger | undefined;
  /** Called on every state change of an instance's breaker. */
  readonly onStateChange: (instanceId: string, change: CircuitStateChange) => void;
}

/**
 * Chooses the instance of each attempt and admits it through that
 * instance's circuit breaker (one per instance, created on first use). A
 * `{ baseUrl }` target has one instance; a source is asked with the ids the
 * call already tried excluded, and an instance whose circuit is open, or
 * whose URL is not an absolute http(s) URL, is excluded and the source asked
 * again (up to 16 picks). Nothing left: the last `CircuitOpenError`, or
 * `NoUpstreamError`.
 *
 * @internal
 */
export class UpstreamPicker {
  readonly #service: string;
  readonly #fixed: UpstreamInstance | undefined;
  readonly #source: UpstreamSource | undefined;
  readonly #breakerOptions: UpstreamPickerOptions['breaker'];
  readonly #breakers: LruMap<string, CircuitBreaker>;
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;
  readonly #onStateChange: UpstreamPickerOptions['onStateChange'];
  readonly #fixedBreaker: CircuitBreaker | undefined;

  constructor(options: UpstreamPickerOptions) {
    this.#service = options.service;
    this.#fixed = options.fixed;
    this.#source = options.source;
    this.#breakerOptions = options.breaker;
    this.#breakers = new LruMap({ maxEntries: MAX_INSTANCES });
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#onStateChange = options.onStateChange;
    if (this.#breakerOptions !== false) new CircuitBreaker(this.#breakerOptions); // validates now
    this.#fixedBreaker = this.#fixed === undefined ? undefined : this.#breakerFor(this.#fixed.id);
  }

  /** The state of the circuit breaker of an instance (`closed` if it has none yet). */
  breakerState(instanceId?: string): 'closed' | 'open' | 'half-open' {
    const id = instanceId ?? this.#fixed?.id;
    if (id === undefined) return 'closed';
    return this.#breakers.get(id)?.state ?? 'closed';
  }

  /** Ends the open time of an instance's breaker now (it came back); nothing if it has none. */
  probeNow(instanceId: string): void {
    this.#breakers.get(instanceId)?.probeNow();
  }

  /** The instance of the next attempt of `state`, admitted by its breaker. */
  pick(state: CallState): Picked | Promise<Picked> {
    const fixed = this.#fixed;
    if (fixed !== undefined) {
      const breaker = this.#fixedBreaker;
      return { instance: fixed, breaker, permit: breaker === undefined ? 'closed' : breaker.acquire() };
    }
    return this.#pickFromSource(state);
  }

  /**
   * Asks the source for an instance whose circuit admits the attempt. With a
   * source that answers synchronously (a loaded `ServiceRegistry`), nothing
   * is awaited between the pick and `onAttemptStart`, so concurrent calls
   * see each other's outstanding counts.
   */
  #pickFromSource(state: CallState): Picked | Promise<Picked> {
    const exclude = new Set(state.tried ?? NO_IDS);
    const open: OpenCircuit = { error: undefined };
    for (let i = 0; i < MAX_PICKS; i++) {
      const found = this.#source!.pick(this.#service, { exclude });
      if (found instanceof Promise) return this.#pickFromSourceAsync(found, exclude, i, open);
      const admitted = this.#admit(found, exclude, open);
      if (admitted === false) break;
      if (admitted !== true) return admitted;
    }
    throw this.#noUpstream(open);
  }

  async #pickFromSourceAsync(
    first: Promise<UpstreamInstance | undefined>,
    exclude: Set<string>,
    picks: number,
    open: OpenCircuit,
  ): Promise<Picked> {
    let found = await first;
    for (let i = picks; i < MAX_PICKS; i++) {
      if (i > picks) found = await this.#source!.pick(this.#service, { exclude });
      const admitted = this.#admit(found, exclude, open);
      if (admitted === false) break;
      if (admitted !== true) return admitted;
    }
    throw this.#noUpstream(open);
  }

  /** The picked instance with its breaker permit; `true`: its circuit is open, pick again; `false`: give up. */
  #admit(instance: UpstreamInstance | undefined, exclude: Set<string>, open: OpenCircuit): Picked | boolean {
    if (instance === undefined) return false;
    if (!isCallableInstance(instance)) {
      // A data:, file: or javascript: URL (or no instance at all) must never
      // reach axios: skip it like an open circuit, and say why if nothing is left.
      const id = (instance as { id?: unknown } | null)?.id;
      const named = typeof id === 'string' && /^[\w.:-]{1,64}$/.test(id) ? ` "${id}"` : '';
      open.error ??= new NoUpstreamError(
        `no usable instance of "${this.#service}": the registry handed out an instance${named} whose URL is not an absolute http(s) URL (skipped)`,
      );
      this.#logger?.warn?.('skipped an instance whose URL is not http(s)', { service: this.#service });
      if (typeof id !== 'string' || exclude.has(id)) return false;
      exclude.add(id);
      return true;
    }
    const breaker = this.#breakerFor(instance.id);
    if (breaker === undefined) return { instance, breaker, permit: 'closed' };
    try {
      return { instance, breaker, permit: breaker.acquire() };
    } catch (err) {
      open.error = err;
      if (exclude.has(instance.id)) return false;
      exclude.add(instance.id);
      return true;
    }
  }

  #noUpstream(open: OpenCircuit): unknown {
    return open.error ?? new NoUpstreamError(`no instance of "${this.#service}" is available`);
  }

  #breakerFor(id: string): CircuitBreaker | undefined {
    if (this.#breakerOptions === false) return undefined;
    let breaker = this.#breakers.get(id);
    if (breaker === undefined) {
      breaker = new CircuitBreaker({
        ...this.#breakerOptions,
        clock: this.#clock,
        onStateChange: (change) => this.#onStateChange(id, change),
      });
      this.#breakers.set(id, breaker);
    }
    return breaker;
  }
}
