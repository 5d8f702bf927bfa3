/**
 * Fast return after an outage: an instance whose circuit is open is not
 * left to wait out its open time (1 s, then 2 s, 4 s... after each failed
 * probe) once it is back. Two signals end the open time at once
 * (`CircuitBreaker.probeNow()`: the next calls are half-open probes):
 *
 * - the registry's announcement: the instance registered again (a
 *   restarted process), or a health round found it healthy again;
 * - a connect probe: while the circuit is open, a bare TCP connect to the
 *   instance's host and port (no request, nothing for the server to do;
 *   refused at once when nothing listens) on a quick schedule: every 25 ms
 *   for the first 5 s of the outage, every 250 ms until 60 s, then every
 *   second, until the registry announces the instance gone. One probe at
 *   a time per instance, each bounded by its own
 *   timeout; probing stops when the circuit leaves `open` or the client
 *   closes.
 *
 * The outage's cost stays that of the breaker (calls fail fast, no HTTP
 * attempt is sent while the circuit is open); the return costs one connect
 * plus the half-open probes.
 *
 * @module
 */
import { connect } from 'node:net';
import type { CircuitStateChange } from '../resilience/circuit-breaker.js';
import { type Clock, type Logger, systemClock } from '../types.js';

/** The connect probe's schedule: [outage age up to, interval], ms. */
const SCHEDULE: ReadonlyArray<readonly [number, number]> = [
  [5_000, 25],
  [60_000, 250],
  [Number.POSITIVE_INFINITY, 1_000],
];
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
 * A bare TCP connect to `target`: calls `done(true)` once connected,
 * `done(false)` when refused, failed or past its timeout (at most once);
 * returns a function that cancels it. @internal
 */
export type ConnectProbe = (target: ProbeTarget, done: (reached: boolean) => void) => () => void;

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

interface Probing {
  host: string;
  port: number;
  since: number;
  timer: unknown;
  cancel: (() => void) | undefined;
}

/** The default {@link ConnectProbe}: `node:net`, bounded by {@link CONNECT_TIMEOUT_MS}. */
const netConnect: ConnectProbe = (target, done) => {
  let settled = false;
  const socket = connect({ host: target.host, port: target.port });
  socket.unref();
  socket.setTimeout(CONNECT_TIMEOUT_MS);
  const end = (reached: boolean): void => {
    if (settled) return;
    settled = true;
    socket.destroy();
    done(reached);
  };
  socket.once('connect', () => end(true));
  socket.once('timeout', () => end(false));
  socket.once('error', () => end(false));
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

  /** Told of every state change of an instance's breaker. */
  onStateChange(instanceId: string, change: CircuitStateChange): void {
    if (this.#closed) return;
    if (change.to !== 'open') {
      this.#stop(instanceId);
      return;
    }
    if (this.#probing.has(instanceId) || this.#probing.size >= MAX_PROBING) return;
    const target = hostAndPort(instanceId);
    if (target === undefined) return;
    const probing: Probing = {
      ...target,
      since: this.#clock.monotonic(),
      timer: undefined,
      cancel: undefined,
    };
    this.#probing.set(instanceId, probing);
    this.#schedule(instanceId, probing);
  }

  /** Stops every probe and the registry subscription. */
  close(): void {
    this.#closed = true;
    for (const id of [...this.#probing.keys()]) this.#stop(id);
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
    probing.cancel?.();
  }

  #schedule(instanceId: string, probing: Probing): void {
    const age = this.#clock.monotonic() - probing.since;
    const interval = SCHEDULE.find(([upTo]) => age < upTo)![1];
    probing.timer = this.#timers.set(() => this.#probe(instanceId, probing), interval);
  }

  #probe(instanceId: string, probing: Probing): void {
    if (this.#probing.get(instanceId) !== probing) return;
    probing.cancel = this.#connect(probing, (reached) => {
      probing.cancel = undefined;
      if (this.#probing.get(instanceId) !== probing) return;
      if (reached) {
        this.#logger?.debug?.('connect probe reached an instance whose circuit is open', {
          service: this.#service,
        });
        this.#back(instanceId);
      } else {
        this.#schedule(instanceId, probing);
      }
    });
  }
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
