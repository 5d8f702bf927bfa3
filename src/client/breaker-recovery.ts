/**
 * Fast return after an outage: an instance whose circuit is open is not
 * left to wait out its open time (1 s, then 2 s, 4 s... after each failed
 * probe) once it is back, and no call is failed while it is back but not
 * yet known to be.
 *
 * ```text
 *   circuit opens ──> watching ── a connect reached it, after one could not ──> back: probeNow()
 *     (first connect     │  ▲       (or the registry announced it up/healthy)      (half-open)
 *      at once)          │  │
 *                        ▼  │ refused: the circuit stays open (extendOpen: no
 *                      probing   HTTP probe at a port where nothing listens);
 *                                failed otherwise: the open time runs on;
 *                                next connect scheduled either way
 *
 *   watching ── a connect reached it and none ever failed ──> stopped: the port
 *     listens, the failures were HTTP-level (503s, timeouts); the breaker's own
 *     open time decides (one connect per opening)
 * ```
 *
 * - The connect probe: a bare TCP connect to the instance's host and port
 *   (no request, nothing for the server to do; refused at once when nothing
 *   listens). The first goes out as the circuit opens; then one every
 *   250 ms for the first minute of the outage and every second after, while
 *   no call waits. A call that finds the circuit open waits for the next
 *   connect ({@link BreakerRecovery.nextVerdict}), which is brought forward
 *   to 5 ms after the previous one: so while calls keep coming, at most one
 *   connect per 5 ms (200 per second), never more than one per call, and a
 *   call fails at most ~5 ms later than a bare fail-fast, but a call made
 *   just after the instance is back is not failed. A connect in flight for
 *   longer than 25 ms (a slow network, a host that drops packets) releases
 *   its waiters: they fail fast.
 * - Checked at once: an attempt that could not connect (or whose
 *   connection broke) while the circuit is closed is followed by one bare
 *   connect ({@link BreakerRecovery.check}); refused, the circuit opens now
 *   (`trip`, reason `unreachable`), so an outage costs one HTTP attempt
 *   rather than `consecutiveFailures`; calls to the instance wait for that
 *   verdict instead of sending.
 * - Edge-triggered: a connect counts as "back" only once a connect (or an
 *   attempt) could not connect: an instance that listens but answers 503 is
 *   not brought back every few milliseconds.
 * - A refused connect (ECONNREFUSED: nothing listens) restarts the
 *   breaker's open time (never past its `maxOpenMs` since it opened): while
 *   nothing listens, no HTTP probe is sent at all. Other connect failures
 *   (a name that does not resolve from here, a timeout) may be this host's
 *   view only (a proxy's may differ): they leave the open time alone.
 * - The registry's announcement (the instance registered again, or a health
 *   round found it healthy) ends the open time too; its announcement that
 *   the instance is gone stops the probing.
 *
 * One probe at a time per instance, each bounded by its own timeout;
 * probing stops when the circuit leaves `open` or the client closes.
 *
 * @module
 */
import { connect } from 'node:net';
import type { CircuitStateChange } from '../resilience/circuit-breaker.js';
import { type Clock, type Logger, systemClock } from '../types.js';

/** The connect probe's schedule while no call waits: [outage age up to, interval], ms. */
const SCHEDULE: ReadonlyArray<readonly [number, number]> = [
  [60_000, 250],
  [Number.POSITIVE_INFINITY, 1_000],
];
/** Shortest gap between two connects, when calls wait for one, ms. */
export const PROBE_MIN_GAP_MS = 5;
/** Longest a call waits for a connect in flight, ms (past it, calls fail fast). */
export const PROBE_HOLD_MS = 25;
/** Most instances probed at once (as many as the client keeps breakers for). */
const MAX_PROBING = 1_024;
/** A connect that takes longer than this counts as failed, ms. */
const CONNECT_TIMEOUT_MS = 1_000;

/** Where a connect probe goes. @internal */
export interface ProbeTarget {
  readonly host: string;
  readonly port: number;
}

/**
 * How a connect probe ended: `reached` (connected), `refused` (nothing
 * listens: ECONNREFUSED), `failed` (anything else: a name that does not
 * resolve, an unreachable host, its timeout). @internal
 */
export type ProbeResult = 'reached' | 'refused' | 'failed';

/**
 * A bare TCP connect to `target`: calls `done` once with how it ended;
 * returns a function that cancels it. @internal
 */
export type ConnectProbe = (target: ProbeTarget, done: (result: ProbeResult) => void) => () => void;

/** Timers of the schedule (tests drive them with the fake clock). @internal */
export interface ProbeTimers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

/**
 * What a {@link BreakerRecovery} is built from.
 *
 * @internal
 */
export interface BreakerRecoveryOptions {
  /** Ends the open time of an instance's breaker (it is back). */
  readonly probeNow: (instanceId: string) => void;
  /** Restarts the open time of an instance's breaker (a connect failed: nothing listens). */
  readonly extendOpen?: ((instanceId: string) => void) | undefined;
  /** Opens an instance's circuit now (an attempt could not connect, and neither could a connect after it). */
  readonly trip?: ((instanceId: string) => void) | undefined;
  /** The client's service name (registry announcements of other services are ignored). */
  readonly service: string;
  readonly logger?: Logger | undefined;
  /** Time source of the schedule (`monotonic`). @default systemClock */
  readonly clock?: Clock | undefined;
  /** @default a `node:net` connect with a 1 s timeout */
  readonly connect?: ConnectProbe | undefined;
  /** @default unref()'d `setTimeout` */
  readonly timers?: ProbeTimers | undefined;
}

/**
 * What caused a state change, as the client saw it: the instance's URL and
 * the outcome of the attempt whose verdict changed it.
 *
 * @internal
 */
export interface StateChangeContext {
  readonly url?: string | undefined;
  readonly outcome?: string | undefined;
}

interface Probing {
  readonly host: string;
  readonly port: number;
  /** When the circuit opened (monotonic ms). */
  readonly since: number;
  /** A connect (or an attempt) could not connect: a connect that gets through means it is back. */
  seenDown: boolean;
  timer: unknown;
  /** When the timer fires (monotonic ms). */
  dueAt: number;
  /** Cancels the connect in flight. */
  cancel: (() => void) | undefined;
  /** When the last connect started (monotonic ms; -Infinity before the first). */
  startedAt: number;
  /** Releases the waiters of a connect in flight for too long. */
  holdTimer: unknown;
  /** Calls waiting for the next verdict. */
  readonly waiters: Array<() => void>;
}

/** The default {@link ConnectProbe}: `node:net`, bounded by {@link CONNECT_TIMEOUT_MS}. */
const netConnect: ConnectProbe = (target, done) => {
  let settled = false;
  const socket = connect({ host: target.host, port: target.port });
  socket.unref();
  socket.setTimeout(CONNECT_TIMEOUT_MS);
  const end = (result: ProbeResult): void => {
    if (settled) return;
    settled = true;
    socket.destroy();
    done(result);
  };
  socket.once('connect', () => end('reached'));
  socket.once('timeout', () => end('failed'));
  socket.once('error', (err: NodeJS.ErrnoException) =>
    end(err.code === 'ECONNREFUSED' ? 'refused' : 'failed'),
  );
  return () => {
    settled = true;
    socket.destroy();
  };
};

const unrefTimers: ProbeTimers = {
  set(fn, ms) {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return timer;
  },
  clear(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

/** What a registry tells: instances that came back. @internal */
interface RegistryEventsLike {
  on(event: string, listener: (payload: never) => void): unknown;
}

/**
 * @internal Watches the instances whose circuit is open and ends their
 * open time as soon as they are back (see the module notes).
 *
 * @example
 * ```ts
 * const recovery = new BreakerRecovery({ probeNow: (id) => picker.probeNow(id), service: 'pricing' });
 * recovery.onStateChange('http://10.0.0.7:4001/', { from: 'closed', to: 'open' });
 * ```
 */
export class BreakerRecovery {
  readonly #probeNow: (instanceId: string) => void;
  readonly #extendOpen: ((instanceId: string) => void) | undefined;
  readonly #trip: ((instanceId: string) => void) | undefined;
  /** Instances being checked after an attempt could not connect: the verdict's promise. */
  readonly #checking = new Map<string, Promise<void>>();
  readonly #service: string;
  readonly #logger: Logger | undefined;
  readonly #clock: Clock;
  readonly #connect: ConnectProbe;
  readonly #timers: ProbeTimers;
  readonly #probing = new Map<string, Probing>();
  readonly #unsubscribe: Array<() => void> = [];
  #closed = false;

  constructor(options: BreakerRecoveryOptions) {
    this.#probeNow = options.probeNow;
    this.#extendOpen = options.extendOpen;
    this.#trip = options.trip;
    this.#service = options.service;
    this.#logger = options.logger;
    this.#clock = options.clock ?? systemClock;
    this.#connect = options.connect ?? netConnect;
    this.#timers = options.timers ?? unrefTimers;
  }

  /**
   * Follows a registry's announcements (a `ServiceRegistry`): an instance
   * of the client's service registered again or found healthy again gets
   * its open time ended.
   */
  follow(registry: unknown): void {
    const r = registry as Partial<RegistryEventsLike> | null;
    if (typeof r !== 'object' || r === null || typeof r.on !== 'function') return;
    const back = (payload: {
      service?: string;
      type?: string;
      healthy?: boolean;
      instance?: { id?: string };
    }): void => {
      if (payload.service !== this.#service) return;
      const id = payload.instance?.id;
      if (typeof id !== 'string') return;
      if (payload.type === 'up' || payload.healthy === true) this.#back(id);
      // Gone from the registry: nothing to wait for (its breaker is forgotten with it).
      else if (payload.type === 'down') this.#stop(id);
    };
    for (const event of ['change', 'health']) {
      try {
        const off = r.on(event, back as (payload: never) => void);
        if (typeof off === 'function') this.#unsubscribe.push(off as () => void);
      } catch {
        // Not a ServiceRegistry's events: the connect probe alone brings instances back.
      }
    }
  }

  /**
   * Told of every state change of an instance's breaker, with the URL of
   * the instance and the outcome that changed it (an attempt that could
   * not connect marks the instance down from the start).
   */
  onStateChange(instanceId: string, change: CircuitStateChange, context: StateChangeContext = {}): void {
    if (this.#closed) return;
    if (change.to !== 'open') {
      this.#stop(instanceId);
      return;
    }
    if (this.#probing.has(instanceId) || this.#probing.size >= MAX_PROBING) return;
    const target = hostAndPort(context.url ?? instanceId) ?? hostAndPort(instanceId);
    if (target === undefined) return;
    const probing: Probing = {
      ...target,
      since: this.#clock.monotonic(),
      seenDown: context.outcome === 'connect-error',
      timer: undefined,
      dueAt: 0,
      cancel: undefined,
      startedAt: Number.NEGATIVE_INFINITY,
      holdTimer: undefined,
      waiters: [],
    };
    this.#probing.set(instanceId, probing);
    this.#schedule(instanceId, probing, 0);
  }

  /**
   * For a call that found the instance's circuit open: resolves after the
   * next connect's verdict (brought forward to {@link PROBE_MIN_GAP_MS}
   * after the previous one), by which time a reached instance is half-open;
   * `undefined` when the call should fail now (the instance is not probed,
   * or is known to listen). A connect in flight for {@link PROBE_HOLD_MS}
   * already: the call waits only for the I/O of this turn of the event loop
   * (on a busy loop the verdict may be in, queued behind the call), then
   * fails if there is none.
   */
  nextVerdict(instanceId: string): Promise<void> | undefined {
    const probing = this.#probing.get(instanceId);
    if (probing === undefined || !probing.seenDown) return undefined;
    const now = this.#clock.monotonic();
    if (probing.cancel === undefined) {
      const dueAt = Math.max(now, probing.startedAt + PROBE_MIN_GAP_MS);
      if (dueAt < probing.dueAt) this.#schedule(instanceId, probing, dueAt - now);
    }
    const verdict = new Promise<void>((resolve) => probing.waiters.push(resolve));
    if (probing.cancel !== undefined) this.#armHold(probing, now);
    return verdict;
  }

  /**
   * After an attempt to an instance whose circuit is closed could not
   * connect (or its connection broke): one bare connect, at once, checks
   * whether anything listens. Refused: the circuit opens now (`trip`), so
   * an outage costs one attempt, not `consecutiveFailures` of them. The
   * promise resolves with the verdict (or after {@link PROBE_HOLD_MS}):
   * calls to the instance wait for it rather than send. `undefined`: no
   * check (one is not possible, or the circuit is already watched).
   */
  check(instanceId: string, url: string | undefined): Promise<void> | undefined {
    const trip = this.#trip;
    if (this.#closed || trip === undefined || this.#probing.has(instanceId)) return undefined;
    const pending = this.#checking.get(instanceId);
    if (pending !== undefined) return pending;
    const target = hostAndPort(url ?? instanceId) ?? hostAndPort(instanceId);
    if (target === undefined) return undefined;
    let release!: () => void;
    const verdict = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.#checking.set(instanceId, verdict);
    let hold: unknown;
    hold = this.#timers.set(() => {
      hold = afterThisTurn(this.#timers, () => {
        if (this.#checking.get(instanceId) === verdict) this.#checking.delete(instanceId);
        release();
      });
    }, PROBE_HOLD_MS);
    this.#connect(target, (result) => {
      this.#timers.clear(hold);
      if (this.#checking.get(instanceId) === verdict) this.#checking.delete(instanceId);
      if (result === 'refused' && !this.#closed) trip(instanceId);
      release();
    });
    return verdict;
  }

  /** Stops every probe and the registry subscription. */
  close(): void {
    this.#closed = true;
    for (const id of [...this.#probing.keys()]) this.#stop(id);
    this.#checking.clear();
    for (const off of this.#unsubscribe.splice(0)) off();
  }

  #back(instanceId: string): void {
    this.#stop(instanceId);
    this.#probeNow(instanceId);
  }

  #stop(instanceId: string): void {
    const probing = this.#probing.get(instanceId);
    if (probing === undefined) return;
    this.#probing.delete(instanceId);
    this.#timers.clear(probing.timer);
    this.#timers.clear(probing.holdTimer);
    probing.cancel?.();
    probing.cancel = undefined;
    wake(probing);
  }

  #schedule(instanceId: string, probing: Probing, delayMs: number): void {
    this.#timers.clear(probing.timer);
    probing.dueAt = this.#clock.monotonic() + delayMs;
    probing.timer = this.#timers.set(() => this.#probe(instanceId, probing), delayMs);
  }

  /** Releases the waiters of the connect in flight once it has run {@link PROBE_HOLD_MS}. */
  #armHold(probing: Probing, now: number): void {
    if (probing.holdTimer !== undefined) return;
    probing.holdTimer = this.#timers.set(
      () => {
        probing.holdTimer = afterThisTurn(this.#timers, () => {
          probing.holdTimer = undefined;
          wake(probing);
        });
      },
      Math.max(0, probing.startedAt + PROBE_HOLD_MS - now),
    );
  }

  #probe(instanceId: string, probing: Probing): void {
    if (this.#probing.get(instanceId) !== probing) return;
    probing.timer = undefined;
    probing.dueAt = Number.POSITIVE_INFINITY;
    const now = this.#clock.monotonic();
    probing.startedAt = now;
    let settled = false;
    const cancel = this.#connect(probing, (result) => {
      if (settled) return;
      settled = true;
      probing.cancel = undefined;
      this.#timers.clear(probing.holdTimer);
      probing.holdTimer = undefined;
      if (this.#probing.get(instanceId) !== probing) return;
      if (result === 'reached' && probing.seenDown) {
        this.#logger?.debug?.('connect probe reached an instance whose circuit is open', {
          service: this.#service,
        });
        this.#back(instanceId);
      } else if (result === 'reached') {
        // It listens, yet its circuit opened: HTTP-level failures, which a
        // connect cannot see end. The breaker's own open time decides.
        this.#stop(instanceId);
      } else {
        probing.seenDown = true;
        // Nothing listens: no HTTP probe until a connect gets through. Any
        // other failure (a name that does not resolve here, a timeout) may
        // be this host's view only (a proxy's may differ): the breaker's
        // own open time still runs.
        if (result === 'refused') this.#extendOpen?.(instanceId);
        wake(probing);
        // Past its longest open time the circuit turned half-open: probing stopped.
        if (this.#probing.get(instanceId) !== probing) return;
        const age = this.#clock.monotonic() - probing.since;
        this.#schedule(instanceId, probing, SCHEDULE.find(([upTo]) => age < upTo)![1]);
      }
    });
    if (!settled) {
      probing.cancel = cancel;
      if (probing.waiters.length > 0) this.#armHold(probing, now);
    }
  }
}

/**
 * Runs `fn` once the I/O callbacks of this turn of the event loop have run
 * (a timer set from a timer's callback fires in the next turn); returns its
 * handle. A hold that runs out releases its calls this way: on a busy event
 * loop the hold's timer and the connect's verdict fall due in the same
 * turn, and timers run first, so a verdict already in (a refused connect)
 * would otherwise be overtaken, and the calls sent while nothing listens.
 */
function afterThisTurn(timers: ProbeTimers, fn: () => void): unknown {
  return timers.set(fn, 0);
}

/** Lets every call waiting on `probing`'s verdict go on. */
function wake(probing: Probing): void {
  for (const resolve of probing.waiters.splice(0)) resolve();
}

/** The host and port of an instance id that is a URL (`ServiceRegistry` ids, a base URL's origin). */
function hostAndPort(instanceId: string): { host: string; port: number } | undefined {
  let url: URL;
  try {
    url = new URL(instanceId);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return { host, port };
}
