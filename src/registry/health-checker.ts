/**
 * Active health checks and their verdicts. {@link HealthChecker} answers
 * "did this check pass"; the thresholds below turn those answers into a
 * verdict per instance, without flapping:
 *
 * ```
 *            pass: passes + 1, fails = 0           fail: fails + 1, passes = 0
 *   ┌─────────┐ ─── unhealthyThreshold fails in a row ──► ┌───────────┐
 *   │ HEALTHY │                                           │ UNHEALTHY │
 *   └─────────┘ ◄── healthyThreshold passes in a row ──── └───────────┘
 *                   (then slow start: its share of picks ramps up)
 * ```
 *
 * A single failed check never takes an instance out, and a single pass
 * never brings one back; a result in the other direction resets the count.
 * Routing leaves UNHEALTHY instances out (unless in panic). The verdict is
 * this process's opinion, never written to the shared store.
 *
 * @module
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { AbortedError, InvalidOptionsError, TimeoutError } from '../errors.js';
import { abortAfter, raceAbort } from '../internal/abort.js';
import { durationOption, optionsChecker } from '../internal/validate.js';
import type { InstanceState } from './instance-state.js';
import type { RegistryContext } from './registry-context.js';
import type { ServiceInstance } from './service-instance.js';
import type { ServiceView } from './service-view.js';

/**
 * Options of {@link HealthChecker} (and `ServiceRegistryOptions.healthCheck`).
 *
 * @example
 * ```ts
 * const registry = new ServiceRegistry({ healthCheck: { path: '/healthz', timeoutMs: 1000 } });
 * ```
 */
export interface HealthCheckerOptions {
  /**
   * Path requested on each instance by the default HTTP check; a 2xx answer is healthy.
   * @default '/health'
   */
  path?: string;
  /**
   * Time between rounds of checks, ms.
   * @default 10_000
   */
  intervalMs?: number;
  /**
   * Limit of one check, ms; a check still running then counts as failed and is aborted.
   * @default 2_000
   */
  timeoutMs?: number;
  /**
   * Checks running at the same time.
   * @default 16
   */
  concurrency?: number;
  /**
   * Consecutive passed checks that make an unhealthy instance healthy again.
   * @default 2
   */
  healthyThreshold?: number;
  /**
   * Consecutive failed checks that make a healthy instance unhealthy.
   * @default 2
   */
  unhealthyThreshold?: number;
  /**
   * A custom check instead of the HTTP GET: resolve `true` when healthy. It
   * receives a signal that fires at the timeout; a check that ignores it
   * still counts as failed at the timeout.
   * @default an HTTP GET of `path`
   */
  check?: (instance: ServiceInstance, signal: AbortSignal) => Promise<boolean>;
}

/**
 * The defaults of {@link HealthCheckerOptions}.
 *
 * @example
 * ```ts
 * const slower = { ...HEALTH_CHECKER_DEFAULTS, intervalMs: 30_000 };
 * ```
 */
export const HEALTH_CHECKER_DEFAULTS = {
  /** GET /health. */
  path: '/health',
  /** A round every 10 s. */
  intervalMs: 10_000,
  /** 2 s per check. */
  timeoutMs: 2_000,
  /** 16 checks at once. */
  concurrency: 16,
  /** 2 passes to come back. */
  healthyThreshold: 2,
  /** 2 failures to go out. */
  unhealthyThreshold: 2,
} as const;

/**
 * The former name of {@link HEALTH_CHECKER_DEFAULTS}.
 *
 * @deprecated Use {@link HEALTH_CHECKER_DEFAULTS} (issue 17: every defaults constant is named `<NAME>_DEFAULTS`).
 */
export const DEFAULT_HEALTH_CHECKER_OPTIONS = HEALTH_CHECKER_DEFAULTS;

const checkHealthCheckerOptions = optionsChecker({
  where: 'healthCheck options',
  keys: ['path', 'intervalMs', 'timeoutMs', 'concurrency', 'healthyThreshold', 'unhealthyThreshold', 'check'],
  hints: { interval: 'intervalMs', timeout: 'timeoutMs', url: 'path', endpoint: 'path' },
  bareNumber: 'intervalMs',
});

function positiveInteger(name: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new InvalidOptionsError(`${name} must be an integer in [1, ${max}]`, { option: name });
  }
  return value;
}

/**
 * Runs active health checks: all instances of a round concurrently, at most
 * `concurrency` at a time, each bounded by `timeoutMs`. So a round of 100
 * instances of which 10 hang takes about one timeout, not ten. Verdicts
 * with thresholds (no flapping on one failed check) are applied by the
 * registry's health rounds (`runHealthRound` below); this class only
 * answers "did this check pass".
 *
 * @example
 * ```ts
 * const checker = new HealthChecker({ timeoutMs: 500, concurrency: 32 });
 * const results = await checker.checkAll(await registry.instances('pricing'));
 * for (const [instance, ok] of results) console.log(instance.url, ok);
 * ```
 */
export class HealthChecker {
  /** The resolved options (defaults applied). */
  readonly options: Readonly<
    Required<Omit<HealthCheckerOptions, 'check'>> & Pick<HealthCheckerOptions, 'check'>
  >;
  readonly #active = new Set<AbortController>();
  #closed = false;

  constructor(options: HealthCheckerOptions = {}) {
    checkHealthCheckerOptions(options);
    const d = HEALTH_CHECKER_DEFAULTS;
    const path = options.path ?? d.path;
    if (typeof path !== 'string' || !path.startsWith('/')) {
      throw new InvalidOptionsError('healthCheck.path must start with /', { option: 'path' });
    }
    if (options.check !== undefined && typeof options.check !== 'function') {
      throw new InvalidOptionsError('healthCheck.check must be a function', { option: 'check' });
    }
    this.options = Object.freeze({
      path,
      intervalMs: durationOption('intervalMs', options.intervalMs ?? d.intervalMs, 10),
      timeoutMs: durationOption('timeoutMs', options.timeoutMs ?? d.timeoutMs, 1),
      concurrency: positiveInteger('concurrency', options.concurrency ?? d.concurrency, 10_000),
      healthyThreshold: positiveInteger(
        'healthyThreshold',
        options.healthyThreshold ?? d.healthyThreshold,
        100,
      ),
      unhealthyThreshold: positiveInteger(
        'unhealthyThreshold',
        options.unhealthyThreshold ?? d.unhealthyThreshold,
        100,
      ),
      check: options.check,
    });
  }

  /** Checks one instance; never throws (a failure or timeout is `false`). */
  async check(instance: ServiceInstance): Promise<boolean> {
    if (this.#closed) return false;
    // One controller per check, held here until the check settles (a signal
    // only reachable through AbortSignal.any may be collected before it fires).
    const { timeoutMs } = this.options;
    const timeout = abortAfter(
      timeoutMs,
      () => new TimeoutError(`health check timed out after ${timeoutMs} ms`, { timeoutMs }),
    );
    const { controller } = timeout;
    this.#active.add(controller);
    try {
      const path = this.options.path;
      const run =
        this.options.check ?? ((i, s) => httpCheck(new URL(`${i.url.replace(/\/+$/, '')}${path}`), s));
      return (await raceAbort(Promise.resolve(run(instance, controller.signal)), controller.signal)) === true;
    } catch {
      return false;
    } finally {
      timeout.cancel();
      this.#active.delete(controller);
    }
  }

  /** Checks every instance, `concurrency` at a time; resolves with each verdict. */
  async checkAll(instances: readonly ServiceInstance[]): Promise<Map<ServiceInstance, boolean>> {
    const results = new Map<ServiceInstance, boolean>();
    let next = 0;
    const worker = async () => {
      while (next < instances.length) {
        const instance = instances[next++]!;
        results.set(instance, await this.check(instance));
      }
    };
    const workers = Math.min(this.options.concurrency, instances.length);
    await Promise.all(Array.from({ length: workers }, worker));
    return results;
  }

  /** Aborts checks in flight; later checks answer `false` at once. */
  close(): void {
    this.#closed = true;
    for (const controller of this.#active) controller.abort(new AbortedError('the health checker is closed'));
    this.#active.clear();
  }
}

function httpCheck(url: URL, signal: AbortSignal): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(url, { method: 'GET', signal, headers: { connection: 'close' } }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      res.on('end', () => resolve(status >= 200 && status < 300));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * @internal What the thresholds count per instance (`InstanceState` holds
 * them).
 */
export interface HealthCounters {
  healthy: boolean;
  passes: number;
  fails: number;
}

/**
 * @internal Applies one check result to an instance's counters by the
 * thresholds (the machine at the top of this file). Returns the new
 * verdict when it changed, `undefined` when it did not.
 *
 * @example
 * ```ts
 * const verdict = applyCheckResult(state, ok, checker.options);
 * if (verdict !== undefined) view.dirty = true;
 * ```
 */
export function applyCheckResult(
  counters: HealthCounters,
  ok: boolean,
  thresholds: { readonly healthyThreshold: number; readonly unhealthyThreshold: number },
): boolean | undefined {
  if (ok) {
    counters.fails = 0;
    counters.passes++;
    if (!counters.healthy && counters.passes >= thresholds.healthyThreshold) {
      counters.healthy = true;
      counters.passes = 0;
      return true;
    }
  } else {
    counters.passes = 0;
    counters.fails++;
    if (counters.healthy && counters.fails >= thresholds.unhealthyThreshold) {
      counters.healthy = false;
      counters.fails = 0;
      return false;
    }
  }
  return undefined;
}

/**
 * @internal One round of active health checks over every instance of the
 * loaded `views`: checks them all with `checker`, then applies each result
 * by the thresholds; an instance that turns healthy again starts its slow
 * start. A result for an instance that left its view meanwhile is dropped.
 *
 * @example
 * ```ts
 * await runHealthRound(checker, views.values(), ctx);
 * ```
 */
export async function runHealthRound(
  checker: HealthChecker,
  views: Iterable<ServiceView>,
  ctx: RegistryContext,
): Promise<void> {
  const targets = new Map<ServiceInstance, { view: ServiceView; state: InstanceState }>();
  for (const view of views) {
    if (!view.loaded) continue;
    for (const state of view.states.values()) targets.set(state.instance, { view, state });
  }
  if (targets.size === 0) return;
  const results = await checker.checkAll([...targets.keys()]);
  if (ctx.life.closed) return;
  const now = ctx.clock.monotonic();
  for (const [instance, ok] of results) {
    const { view, state } = targets.get(instance)!;
    if (view.states.get(instance.id) !== state) continue;
    const healthy = applyCheckResult(state, ok, checker.options);
    if (healthy === undefined) continue;
    if (healthy) state.startWarmUp(now, ctx.settings.slowStartMs);
    view.dirty = true;
    ctx.events.emit('health', { service: view.service, instance: state.instance, healthy });
  }
}
