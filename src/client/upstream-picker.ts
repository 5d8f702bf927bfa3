import {
  type CallOutcome,
  isFailureOutcome,
  type UpstreamInstance,
  type UpstreamSource,
} from '../contracts/upstream.js';
import { NoUpstreamError } from '../errors.js';
import { LruMap } from '../internal/lru.js';
import {
  CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitPermit,
  type CircuitStateChange,
} from '../resilience/circuit-breaker.js';
import type { Clock, Logger } from '../types.js';
import type { StateChangeContext } from './breaker-recovery.js';
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
  /** A connect checked the instance during the attempt (before a resend): none after it fails. */
  checked?: boolean;
}

/** The last CircuitOpenError met while picking, and whose circuit it was. */
interface OpenCircuit {
  error: unknown;
  held?: { instance: UpstreamInstance; entry: BreakerEntry } | undefined;
}

/** An instance's breaker, and what the picker knows of its recovery. */
interface BreakerEntry {
  readonly breaker: CircuitBreaker;
  /** The instance's URL, last seen (where a connect probe goes). */
  url: string | undefined;
  /** Half-open because the instance is known to be back (`probeNow`): calls wait for the probes. */
  recovering: boolean;
  /** Calls waiting for a probe of the recovering instance to settle. */
  waiters: Array<() => void> | undefined;
  /** An attempt could not connect: the verdict of the connect that checks it (calls wait for it). */
  checking: Promise<void> | undefined;
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
  /** Called on every state change of an instance's breaker (with its URL and the outcome that changed it). */
  readonly onStateChange: (
    instanceId: string,
    change: CircuitStateChange,
    context: StateChangeContext,
  ) => void;
  /**
   * For a call that found an instance's circuit open: a promise of the next
   * verdict of its connect probe, or `undefined` to fail now (see
   * `BreakerRecovery.nextVerdict`). @default none: fail now
   */
  readonly hold?: ((instanceId: string) => Promise<void> | undefined) | undefined;
  /**
   * After an attempt could not connect (or its connection broke) with the
   * circuit closed: a promise of the verdict of a connect that checks the
   * instance, which opens the circuit if refused (see
   * `BreakerRecovery.check`); calls to the instance wait for it.
   * @default none
   */
  readonly check?: ((instanceId: string, url: string | undefined) => Promise<void> | undefined) | undefined;
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
 * Where the only instance left has an open circuit, the attempt does not
 * fail at once when the instance may be back: it waits for the next verdict
 * of the instance's connect probe (`hold`, a few ms), and, while the
 * circuit is half-open because the instance is known to be back, for a
 * probe slot or the probes' verdict rather than failing.
 *
 * @internal
 */
export class UpstreamPicker {
  readonly #service: string;
  readonly #fixed: UpstreamInstance | undefined;
  readonly #source: UpstreamSource | undefined;
  readonly #breakerOptions: UpstreamPickerOptions['breaker'];
  readonly #breakers: LruMap<string, BreakerEntry>;
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;
  readonly #onStateChange: UpstreamPickerOptions['onStateChange'];
  readonly #hold: UpstreamPickerOptions['hold'];
  readonly #check: UpstreamPickerOptions['check'];
  readonly #fixedEntry: BreakerEntry | undefined;
  /** The outcome of the attempt whose verdict is being given to a breaker (for `onStateChange`). */
  #releasing: CallOutcome | undefined;
  #closed = false;

  constructor(options: UpstreamPickerOptions) {
    this.#service = options.service;
    this.#fixed = options.fixed;
    this.#source = options.source;
    this.#breakerOptions = options.breaker;
    this.#breakers = new LruMap({ maxEntries: MAX_INSTANCES });
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#onStateChange = options.onStateChange;
    this.#hold = options.hold;
    this.#check = options.check;
    if (this.#breakerOptions !== false) new CircuitBreaker(this.#breakerOptions); // validates now
    this.#fixedEntry = this.#fixed === undefined ? undefined : this.#entryFor(this.#fixed);
  }

  /** The state of the circuit breaker of an instance (`closed` if it has none yet). */
  breakerState(instanceId?: string): 'closed' | 'open' | 'half-open' {
    const id = instanceId ?? this.#fixed?.id;
    if (id === undefined) return 'closed';
    return this.#breakers.get(id)?.breaker.state ?? 'closed';
  }

  /**
   * Ends the open time of an instance's breaker now (it came back): calls
   * wait for its half-open probes rather than fail. Nothing if it has none.
   */
  probeNow(instanceId: string): void {
    const entry = this.#breakers.get(instanceId);
    if (entry === undefined || entry.breaker.state !== 'open') return;
    entry.recovering = true;
    entry.breaker.probeNow();
  }

  /** Restarts the open time of an instance's breaker (still down); nothing if it has none. */
  extendOpen(instanceId: string): void {
    this.#breakers.get(instanceId)?.breaker.extendOpen();
  }

  /** Opens an instance's circuit now (nothing listens: a refused connect after a failed attempt). */
  trip(instanceId: string): void {
    const breaker = this.#breakers.get(instanceId)?.breaker;
    if (breaker === undefined) return;
    this.#releasing = 'connect-error';
    try {
      breaker.trip();
    } finally {
      this.#releasing = undefined;
    }
  }

  /**
   * Gives the breaker permit of `picked` back with the attempt's outcome
   * (`cancelled` is neutral, failures per `isFailureOutcome`, the rest
   * succeed); a probe's end lets calls waiting for one go on.
   */
  release(picked: Picked, outcome: CallOutcome): void {
    const breaker = picked.breaker;
    if (breaker === undefined) return;
    this.#releasing = outcome;
    try {
      breaker.release(
        picked.permit,
        outcome === 'cancelled' ? 'neutral' : isFailureOutcome(outcome) ? 'failure' : 'success',
      );
    } finally {
      this.#releasing = undefined;
    }
    if (picked.permit === 'probe') {
      const entry = this.#breakers.get(picked.instance.id);
      if (entry !== undefined && entry.breaker === breaker) wakeAll(entry);
    } else if (
      (outcome === 'connect-error' || outcome === 'connection-reset') &&
      picked.checked !== true &&
      this.#check !== undefined &&
      breaker.state === 'closed'
    ) {
      this.#checkAfterFailure(picked.instance.id);
    }
  }

  /**
   * Before a request whose connection to `picked`'s instance broke is sent again
   * (within its attempt): starts the check of the instance (the calls to it
   * wait for its verdict, as after a failed attempt) and resolves whether to
   * send again: not when the check opened the circuit (nothing listens).
   * `undefined`: no check (none configured, the circuit not closed, or a
   * check not possible): send again at once.
   */
  beforeResend(picked: Picked): Promise<boolean> | undefined {
    const id = picked.instance.id;
    const entry = this.#breakers.peek(id)?.value;
    if (entry === undefined || entry.breaker !== picked.breaker || this.#check === undefined)
      return undefined;
    if (entry.breaker.state !== 'closed') return undefined;
    this.#checkAfterFailure(id);
    const verdict = entry.checking;
    if (verdict === undefined) return undefined;
    picked.checked = true;
    return verdict.then(() => entry.breaker.state === 'closed');
  }

  /** Lets every waiting call go on (they fail as the circuit says). */
  close(): void {
    this.#closed = true;
    for (const id of [...this.#breakers.keys()]) {
      const entry = this.#breakers.peek(id)?.value;
      if (entry !== undefined) wakeAll(entry);
    }
  }

  /** The instance of the next attempt of `state`, admitted by its breaker. */
  pick(state: CallState): Picked | Promise<Picked> {
    const fixed = this.#fixed;
    if (fixed !== undefined) {
      const entry = this.#fixedEntry;
      if (entry === undefined) return { instance: fixed, breaker: undefined, permit: 'closed' };
      if (entry.checking !== undefined) return this.#acquireAfter(entry.checking, fixed, entry);
      try {
        return { instance: fixed, breaker: entry.breaker, permit: entry.breaker.acquire() };
      } catch (err) {
        const hold = this.#holdFor(fixed.id, entry, true);
        if (hold === undefined) throw err;
        return this.#acquireAfter(hold, fixed, entry);
      }
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
    const held = this.#holdOpen(open);
    if (held !== undefined) return held;
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
    const held = this.#holdOpen(open);
    if (held !== undefined) return held;
    throw this.#noUpstream(open);
  }

  /** The picked instance with its breaker permit; `true`: its circuit is open, pick again; `false`: give up. */
  #admit(instance: UpstreamInstance | undefined, exclude: Set<string>, open: OpenCircuit): Picked | boolean {
    if (instance === undefined) return false;
    if (!isCallableInstance(instance)) {
      // A data:, file: or javascript: URL, one with a query or fragment (or no
      // instance at all) must never reach axios: skip it like an open circuit,
      // and say why if nothing is left.
      const id = (instance as { id?: unknown } | null)?.id;
      const named = typeof id === 'string' && /^[\w.:-]{1,64}$/.test(id) ? ` "${id}"` : '';
      open.error ??= new NoUpstreamError(
        `no usable instance of "${this.#service}": the registry handed out an instance${named} whose URL is not an absolute http(s) URL without query or fragment (skipped)`,
      );
      this.#logger?.warn?.('skipped an instance whose URL is not http(s), or has a query or fragment', {
        service: this.#service,
      });
      if (typeof id !== 'string' || exclude.has(id)) return false;
      exclude.add(id);
      return true;
    }
    const entry = this.#entryFor(instance);
    if (entry === undefined) return { instance, breaker: undefined, permit: 'closed' };
    if (entry.checking !== undefined) {
      // Being checked after a failed connect: another instance if there is one, else wait.
      open.held = { instance, entry };
      if (exclude.has(instance.id)) return false;
      exclude.add(instance.id);
      return true;
    }
    try {
      return { instance, breaker: entry.breaker, permit: entry.breaker.acquire() };
    } catch (err) {
      open.error = err;
      open.held = { instance, entry };
      if (exclude.has(instance.id)) return false;
      exclude.add(instance.id);
      return true;
    }
  }

  #noUpstream(open: OpenCircuit): unknown {
    return open.error ?? new NoUpstreamError(`no instance of "${this.#service}" is available`);
  }

  /** Where every instance left has an open circuit: waits on the last one's (see {@link #holdFor}). */
  #holdOpen(open: OpenCircuit): Promise<Picked> | undefined {
    const held = open.held;
    if (held === undefined) return undefined;
    let hold = held.entry.checking ?? this.#holdFor(held.instance.id, held.entry, true);
    // A check that ended while picking left the circuit closed: go ahead.
    if (hold === undefined && held.entry.breaker.state === 'closed') hold = Promise.resolve();
    return hold === undefined ? undefined : this.#acquireAfter(hold, held.instance, held.entry);
  }

  /** Starts the check of an instance after a failed connect (see `check`); calls wait for it. */
  #checkAfterFailure(id: string): void {
    const entry = this.#breakers.get(id);
    if (entry === undefined || entry.checking !== undefined || this.#closed) return;
    const verdict = this.#check!(id, entry.url);
    if (verdict === undefined) return;
    entry.checking = verdict;
    void verdict.then(() => {
      if (entry.checking === verdict) entry.checking = undefined;
    });
  }

  /**
   * What a call that was refused a permit may wait for: the next verdict of
   * the connect probe of an open circuit (once per attempt: `openToo`), or
   * a probe's end while the circuit is half-open because the instance is
   * known to be back; `undefined`: fail now.
   */
  #holdFor(id: string, entry: BreakerEntry, openToo: boolean): Promise<void> | undefined {
    if (this.#closed) return undefined;
    const state = entry.breaker.state;
    if (state === 'open') return openToo ? this.#hold?.(id) : undefined;
    if (state !== 'half-open' || !entry.recovering) return undefined;
    entry.waiters ??= [];
    const waiters = entry.waiters;
    return new Promise<void>((resolve) => {
      waiters.push(resolve);
    });
  }

  /** Acquires `entry`'s permit after `hold`, waiting again while the instance is recovering. */
  async #acquireAfter(hold: Promise<void>, instance: UpstreamInstance, entry: BreakerEntry): Promise<Picked> {
    for (;;) {
      await hold;
      try {
        return { instance, breaker: entry.breaker, permit: entry.breaker.acquire() };
      } catch (err) {
        const next = this.#holdFor(instance.id, entry, false);
        if (next === undefined) throw err;
        hold = next;
      }
    }
  }

  #entryFor(instance: UpstreamInstance): BreakerEntry | undefined {
    if (this.#breakerOptions === false) return undefined;
    const id = instance.id;
    let entry = this.#breakers.get(id);
    if (entry === undefined) {
      const created: BreakerEntry = {
        breaker: new CircuitBreaker({
          ...this.#breakerOptions,
          clock: this.#clock,
          onStateChange: (change) => {
            if (change.to !== 'half-open') {
              // closed or open: the recovery is decided, waiting calls go on.
              created.recovering = false;
              wakeAll(created);
            }
            this.#onStateChange(id, change, { url: created.url, outcome: this.#releasing });
          },
        }),
        url: instance.url,
        recovering: false,
        waiters: undefined,
        checking: undefined,
      };
      entry = created;
      this.#breakers.set(id, entry);
    } else {
      entry.url = instance.url;
    }
    return entry;
  }
}

/** Lets every call waiting on `entry` go on. */
function wakeAll(entry: BreakerEntry): void {
  const waiters = entry.waiters;
  if (waiters === undefined) return;
  entry.waiters = undefined;
  for (const resolve of waiters) resolve();
}
