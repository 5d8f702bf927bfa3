import { InvalidOptionsError } from '../errors.js';
import { clockOption, durationOption, optionsChecker } from '../internal/validate.js';
import { type BaseOptions, type Clock, type LogFields, type Logger, systemClock } from '../types.js';
import type { HttpServerLike } from './http-drain.js';

/**
 * The signals a {@link ServiceLifecycle} may stop on.
 *
 * @example
 * ```ts
 * const signals: ShutdownSignal[] = ['SIGTERM', 'SIGINT'];
 * ```
 */
export type ShutdownSignal = 'SIGTERM' | 'SIGINT' | 'SIGHUP';

/**
 * Where the probes are answered (before any framework routing), or `false`
 * for a path not served.
 *
 * @example
 * ```ts
 * const probes: ProbePaths = { livePath: '/healthz', readyPath: '/readyz', healthPath: false };
 * ```
 */
export interface ProbePaths {
  /** Liveness: 200 while the process runs, also while it drains. @default '/live' */
  livePath?: string | false;
  /** Readiness: 200 when ready, 503 while starting, stopping, or a check fails. @default '/ready' */
  readyPath?: string | false;
  /** Every check and primitive, in detail (JSON). @default '/health' */
  healthPath?: string | false;
}

/**
 * Options of {@link ServiceLifecycle}.
 *
 * @example
 * ```ts
 * const options: ServiceLifecycleOptions = { servers: [server], signals: ['SIGTERM'], deadlineMs: 20_000 };
 * ```
 */
export interface ServiceLifecycleOptions extends Omit<BaseOptions<never>, 'adapter'> {
  /**
   * The HTTP servers to drain: a node `http.Server`/`https.Server`, what
   * Express's and Koa's `app.listen()` return, or a Fastify instance
   * (stopped through `fastify.close()`, so its `preClose` and `onClose`
   * hooks run; `fastify.server` alone is drained without them). More can
   * be added with `manage(server)`. @default none
   */
  servers?: readonly (HttpServerLike | FastifyLike)[];
  /**
   * Signals that start the stop (a second one forces it); the handlers are
   * removed when the stop ends. Opt-in. @default none
   */
  signals?: readonly ShutdownSignal[];
  /**
   * The whole stop must end within this, ms, counted from its start
   * (`drainDelayMs` included); past it the coordinator forces: sockets
   * destroyed, later steps started without waiting, the step that overran
   * reported. Keep it below Kubernetes' `terminationGracePeriodSeconds`
   * minus the preStop sleep. @default 10_000
   */
  deadlineMs?: number;
  /**
   * How long to keep serving (with `Connection: close`) after readiness
   * turns 503 and the instance is deregistered, before the listener
   * closes, ms: the time load balancers need to stop sending (Kubernetes:
   * about the readiness probe's period, or use a preStop sleep). It counts
   * toward `deadlineMs`, so it must be below it (else `InvalidOptionsError`).
   * @default 0
   */
  drainDelayMs?: number;
  /** Call `process.exit(exitCode)` when the stop ends (0 if clean, 1 if forced or a step failed). @default false */
  exitProcess?: boolean;
  /** Whether readiness starts ready; else call `markReady()` once started. @default true */
  startReady?: boolean;
  /** Probe paths answered on the managed servers, or `false` for none. @default { livePath: '/live', readyPath: '/ready', healthPath: '/health' } */
  probes?: ProbePaths | false;
  /** Timeout of each user check and primitive check, ms. @default 2_000 */
  checkTimeoutMs?: number;
}

/**
 * Defaults of {@link ServiceLifecycleOptions}.
 *
 * @example
 * ```ts
 * console.log(SERVICE_LIFECYCLE_DEFAULTS.deadlineMs);
 * ```
 */
export const SERVICE_LIFECYCLE_DEFAULTS = {
  /** The whole stop's deadline, ms; past it the rest is forced. */
  deadlineMs: 10_000,
  /** Wait after deregistering and marking unready, before closing the listener, ms. */
  drainDelayMs: 0,
  /** Whether the stop ends with `process.exit` (0 when clean, else 1). */
  exitProcess: false,
  /** Whether `/ready` answers 200 from the start (else after `markReady()`). */
  startReady: true,
  /** Each check's timeout, ms. */
  checkTimeoutMs: 2_000,
  /** The liveness probe's path. */
  livePath: '/live',
  /** The readiness probe's path. */
  readyPath: '/ready',
  /** The detailed health report's path. */
  healthPath: '/health',
} as const;

/** @internal The options, checked, with defaults. */
export interface ResolvedLifecycleOptions {
  servers: readonly (HttpServerLike | FastifyLike)[];
  signals: readonly ShutdownSignal[];
  deadlineMs: number;
  drainDelayMs: number;
  exitProcess: boolean;
  startReady: boolean;
  checkTimeoutMs: number;
  livePath: string | false;
  readyPath: string | false;
  healthPath: string | false;
  logger: Logger | undefined;
  clock: Clock;
}

const checkOptions = optionsChecker({
  where: 'ServiceLifecycle options',
  keys: [
    'servers',
    'signals',
    'deadlineMs',
    'drainDelayMs',
    'exitProcess',
    'startReady',
    'probes',
    'checkTimeoutMs',
    'logger',
    'clock',
  ],
  hints: {
    timeout: 'deadlineMs',
    gracefulShutdownTimeout: 'deadlineMs',
    shutdownDelay: 'drainDelayMs',
    server: 'servers',
    signal: 'signals',
    useExit0: 'exitProcess',
    healthChecks: 'probes',
  },
  bareNumber: 'deadlineMs',
});
const checkProbes = optionsChecker({
  where: 'ServiceLifecycle probes',
  keys: ['livePath', 'readyPath', 'healthPath'],
  hints: { live: 'livePath', ready: 'readyPath', health: 'healthPath' },
});
const SIGNALS = new Set<unknown>(['SIGTERM', 'SIGINT', 'SIGHUP']);

/**
 * The part of a Fastify instance the coordinator uses: its node server (to
 * answer probes and track requests) and `close()`, which runs its
 * `preClose` hooks, closes the server once its requests are done, then
 * runs its `onClose` hooks.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * const app: FastifyLike = Fastify();
 * ```
 */
export interface FastifyLike {
  /** The node HTTP server Fastify listens with. */
  readonly server: HttpServerLike;
  /** Fastify's own stop: `preClose` hooks, the server closed, `onClose` hooks. */
  close(): PromiseLike<unknown>;
  /** Adds a lifecycle hook (its presence tells a Fastify instance apart). */
  addHook(...args: never[]): unknown;
}

/**
 * Whether `value` looks like a Fastify instance (drained through its own `close()`).
 *
 * @internal
 */
export function isFastifyLike(value: unknown): value is FastifyLike {
  const f = value as Partial<FastifyLike> & { inject?: unknown; register?: unknown };
  return (
    typeof f === 'object' &&
    f !== null &&
    typeof f.close === 'function' &&
    typeof f.addHook === 'function' &&
    typeof f.inject === 'function' &&
    typeof f.register === 'function' &&
    isHttpServerLike(f.server)
  );
}

/**
 * Whether `value` looks like a node HTTP server (what the drain hooks).
 *
 * @internal
 */
export function isHttpServerLike(value: unknown): value is HttpServerLike {
  const s = value as Partial<HttpServerLike> | null;
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.on === 'function' &&
    typeof s.emit === 'function' &&
    typeof s.close === 'function' &&
    typeof (s as { listen?: unknown }).listen === 'function' &&
    typeof (s as { address?: unknown }).address === 'function'
  );
}

/** @internal A probe path option, checked: a path starting with `/`, or `false`. */
export function probePath(name: string, value: unknown, fallback: string): string | false {
  if (value === undefined) return fallback;
  if (value === false) return false;
  if (typeof value !== 'string' || !/^\/[\w\-./]{0,200}$/.test(value)) {
    throw new InvalidOptionsError(
      `${name} must be a path starting with "/" (letters, digits, -_./), or false`,
      {
        option: name,
      },
    );
  }
  return value;
}

/**
 * @internal The three probe paths, checked: each a path or `false`, no two
 * the same (the first one would answer for both: `/ready` served as
 * liveness would never turn 503). `prefix` names the options (`probes.`).
 */
export function probePaths(
  prefix: string,
  paths: ProbePaths,
): { livePath: string | false; readyPath: string | false; healthPath: string | false } {
  const d = SERVICE_LIFECYCLE_DEFAULTS;
  const resolved = {
    livePath: probePath(`${prefix}livePath`, paths.livePath, d.livePath),
    readyPath: probePath(`${prefix}readyPath`, paths.readyPath, d.readyPath),
    healthPath: probePath(`${prefix}healthPath`, paths.healthPath, d.healthPath),
  };
  const names = ['livePath', 'readyPath', 'healthPath'] as const;
  for (const [i, a] of names.entries()) {
    for (const b of names.slice(i + 1)) {
      if (resolved[a] !== false && resolved[a] === resolved[b]) {
        throw new InvalidOptionsError(
          `${prefix}${a} and ${prefix}${b} are the same path (${resolved[a]}): give each probe its own path, or turn one off with false`,
          { option: `${prefix}${a}` },
        );
      }
    }
  }
  return resolved;
}

/**
 * @internal The user's logger, its calls isolated: a logger that throws
 * (a full disk, a closed transport) must not crash the deadline's timer or
 * a signal handler, nor make `shutdown()` reject.
 */
function quietLogger(logger: Logger | undefined): Logger | undefined {
  if (logger === undefined) return undefined;
  if (typeof logger !== 'object' || logger === null) {
    throw new InvalidOptionsError('logger must be an object with debug/info/warn/error methods', {
      option: 'logger',
    });
  }
  const call =
    (level: keyof Logger) =>
    (message: string, fields?: LogFields): void => {
      try {
        const method = logger[level];
        if (typeof method === 'function') method.call(logger, message, fields);
      } catch {
        // Nothing else to tell: the logger is what failed.
      }
    };
  return { debug: call('debug'), info: call('info'), warn: call('warn'), error: call('error') };
}

function booleanOption(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean')
    throw new InvalidOptionsError(`${name} must be a boolean`, { option: name });
  return value;
}

/** @internal Checks the options and fills in the defaults. */
export function resolveLifecycleOptions(options: ServiceLifecycleOptions): ResolvedLifecycleOptions {
  checkOptions(options);
  const o = options ?? {};
  const d = SERVICE_LIFECYCLE_DEFAULTS;
  clockOption(o.clock);
  const servers = o.servers ?? [];
  if (!Array.isArray(servers) || !servers.every((s) => isHttpServerLike(s) || isFastifyLike(s))) {
    throw new InvalidOptionsError(
      'servers must be an array of node http.Server (app.listen() in Express or Koa) or Fastify instances',
      { option: 'servers' },
    );
  }
  const signals = o.signals ?? [];
  if (!Array.isArray(signals) || !signals.every((s) => SIGNALS.has(s))) {
    throw new InvalidOptionsError('signals must be an array of "SIGTERM", "SIGINT" or "SIGHUP"', {
      option: 'signals',
    });
  }
  let probes: ProbePaths = {};
  if (o.probes === false) probes = { livePath: false, readyPath: false, healthPath: false };
  else if (o.probes !== undefined) {
    checkProbes(o.probes);
    probes = o.probes;
  }
  const deadlineMs = durationOption('deadlineMs', o.deadlineMs ?? d.deadlineMs);
  const drainDelayMs = durationOption('drainDelayMs', o.drainDelayMs ?? d.drainDelayMs, 0);
  if (drainDelayMs > 0 && drainDelayMs >= deadlineMs) {
    // The deadline counts from the start of the stop, drain delay included: this stop always overran.
    throw new InvalidOptionsError(
      `drainDelayMs (${drainDelayMs}) must be below deadlineMs (${deadlineMs}): the deadline covers the whole stop, drain delay included; raise deadlineMs to the drain delay plus the longest request or message handler`,
      { option: 'drainDelayMs' },
    );
  }
  return {
    servers: [...servers],
    signals: [...new Set(signals)],
    deadlineMs,
    drainDelayMs,
    exitProcess: booleanOption('exitProcess', o.exitProcess, d.exitProcess),
    startReady: booleanOption('startReady', o.startReady, d.startReady),
    checkTimeoutMs: durationOption('checkTimeoutMs', o.checkTimeoutMs ?? d.checkTimeoutMs),
    ...probePaths('probes.', probes),
    logger: quietLogger(o.logger),
    clock: o.clock ?? systemClock,
  };
}
