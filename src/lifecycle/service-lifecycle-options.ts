import { InvalidOptionsError } from '../errors.js';
import { clockOption, durationOption, optionsChecker } from '../internal/validate.js';
import { type BaseOptions, type Clock, type Logger, systemClock } from '../types.js';
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
  /** Liveness: 200 while the process is not stopping. @default '/live' */
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
   * The whole stop must end within this, ms; past it the coordinator
   * forces: sockets destroyed, later steps started without waiting, the
   * step that overran reported. Keep it below Kubernetes'
   * `terminationGracePeriodSeconds` minus the preStop sleep. @default 10_000
   */
  deadlineMs?: number;
  /**
   * How long to keep serving (with `Connection: close`) after readiness
   * turns 503 and the instance is deregistered, before the listener
   * closes, ms: the time load balancers need to stop sending (Kubernetes:
   * about the readiness probe's period, or use a preStop sleep). @default 0
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
  return {
    servers: [...servers],
    signals: [...new Set(signals)],
    deadlineMs: durationOption('deadlineMs', o.deadlineMs ?? d.deadlineMs),
    drainDelayMs: durationOption('drainDelayMs', o.drainDelayMs ?? d.drainDelayMs, 0),
    exitProcess: booleanOption('exitProcess', o.exitProcess, d.exitProcess),
    startReady: booleanOption('startReady', o.startReady, d.startReady),
    checkTimeoutMs: durationOption('checkTimeoutMs', o.checkTimeoutMs ?? d.checkTimeoutMs),
    livePath: probePath('probes.livePath', probes.livePath, d.livePath),
    readyPath: probePath('probes.readyPath', probes.readyPath, d.readyPath),
    healthPath: probePath('probes.healthPath', probes.healthPath, d.healthPath),
    logger: o.logger,
    clock: o.clock ?? systemClock,
  };
}
