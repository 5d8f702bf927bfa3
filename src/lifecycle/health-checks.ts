import { InvalidArgumentError, InvalidOptionsError, TimeoutError } from '../errors.js';
import { durationOption, keyArgument, optionsChecker } from '../internal/validate.js';
import type { Clock } from '../types.js';

/**
 * A check: resolves (any value, shown in `/health` when it is a plain
 * object, string, number or boolean) when healthy; throws or resolves
 * `false` when not. `signal` aborts when the check's timeout passes.
 *
 * @example
 * ```ts
 * const db: HealthCheck = async ({ signal }) => { await pool.query('select 1', { signal }); };
 * ```
 */
export type HealthCheck = (context: { readonly signal: AbortSignal }) => unknown;

/**
 * Options of one check.
 *
 * @example
 * ```ts
 * lifecycle.addCheck('db', check, { timeoutMs: 500, critical: false });
 * ```
 */
export interface HealthCheckOptions {
  /** Longer than this fails the check, ms. @default the lifecycle's checkTimeoutMs */
  timeoutMs?: number;
  /** A failing critical check turns readiness 503; a non-critical one only shows in `/health`. @default true */
  critical?: boolean;
}

/**
 * The result of one check in a {@link HealthReport}.
 *
 * @example
 * ```ts
 * const failing = report.checks.filter((c: CheckResult) => !c.ok);
 * ```
 */
export interface CheckResult {
  /** The check's name, as registered. */
  readonly name: string;
  /** Whether it passed within its timeout. */
  readonly ok: boolean;
  /** Whether a failure makes the service unready (else it is only `degraded`). */
  readonly critical: boolean;
  /** How long it took, ms. */
  readonly durationMs: number;
  /** What a passing check resolved to (plain data only), or the state a primitive reports. */
  readonly details?: unknown;
  /** Why it failed: an error's name and message (never a stack). */
  readonly error?: string;
}

/**
 * What `/health` answers (as JSON) and `lifecycle.health()` resolves to.
 *
 * @example
 * ```ts
 * const report: HealthReport = await lifecycle.health();
 * if (!report.ready) log.warn('not ready', { checks: report.checks });
 * ```
 */
export interface HealthReport {
  /** `ok` (ready, every check passes), `degraded` (ready, a non-critical check fails), `unready`, `stopping`. */
  readonly status: 'ok' | 'degraded' | 'unready' | 'stopping';
  /** What `/live` answers: the process serves requests (false only once stopped). */
  readonly live: boolean;
  /** What `/ready` answers: ready, and every critical check passes. */
  readonly ready: boolean;
  /** Every check's result, in the order they were registered. */
  readonly checks: readonly CheckResult[];
}

interface Entry {
  name: string;
  check: HealthCheck;
  timeoutMs: number;
  critical: boolean;
}

const checkCheckOptions = optionsChecker({
  where: 'lifecycle.addCheck() options',
  keys: ['timeoutMs', 'critical'],
  hints: { timeout: 'timeoutMs', required: 'critical' },
  bareNumber: 'timeoutMs',
});

/** Plain data only: what a check resolved to may hold a connection, a secret or a cycle. */
function plainDetails(value: unknown): unknown {
  if (value === undefined || value === null || value === true) return undefined;
  if (typeof value === 'string') return value.slice(0, 200);
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value !== 'object') return undefined;
  try {
    const text = JSON.stringify(value);
    return text !== undefined && text.length <= 2_000 ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

function errorText(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`.slice(0, 300);
  return 'check failed';
}

/**
 * @internal The checks of a lifecycle: the user's, and the managed
 * primitives' own state. Each runs with its own timeout; checks run
 * concurrently, and one that throws synchronously fails alone.
 *
 * @example
 * ```ts
 * const checks = new HealthChecks(systemClock, 2_000);
 * checks.add('db', () => pool.query('select 1'));
 * const results = await checks.run();
 * ```
 */
export class HealthChecks {
  readonly #entries = new Map<string, Entry>();
  readonly #clock: Clock;
  readonly #defaultTimeoutMs: number;

  constructor(clock: Clock, defaultTimeoutMs: number) {
    this.#clock = clock;
    this.#defaultTimeoutMs = defaultTimeoutMs;
  }

  /** Adds a check; a name already used is refused. */
  add(name: string, check: HealthCheck, options: HealthCheckOptions = {}): void {
    keyArgument('name', name, 100);
    if (typeof check !== 'function') {
      throw new InvalidArgumentError('a health check must be a function', { argument: 'check' });
    }
    checkCheckOptions(options);
    if (options.critical !== undefined && typeof options.critical !== 'boolean') {
      throw new InvalidOptionsError('critical must be a boolean', { option: 'critical' });
    }
    if (this.#entries.has(name)) {
      throw new InvalidArgumentError(`a health check named "${name}" exists already`, { argument: 'name' });
    }
    this.#entries.set(name, {
      name,
      check,
      timeoutMs: durationOption('timeoutMs', options.timeoutMs ?? this.#defaultTimeoutMs),
      critical: options.critical ?? true,
    });
  }

  /** Whether a check of that name exists. */
  has(name: string): boolean {
    return this.#entries.has(name);
  }

  /** Runs every check now. */
  run(): Promise<CheckResult[]> {
    return Promise.all([...this.#entries.values()].map((e) => this.#runOne(e)));
  }

  async #runOne(entry: Entry): Promise<CheckResult> {
    const started = this.#clock.monotonic();
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new TimeoutError(`check "${entry.name}" timed out after ${entry.timeoutMs} ms`, {
          timeoutMs: entry.timeoutMs,
        });
        controller.abort(error);
        reject(error);
      }, entry.timeoutMs);
      timer.unref();
    });
    const base = { name: entry.name, critical: entry.critical };
    try {
      const value = await Promise.race([(async () => entry.check({ signal: controller.signal }))(), timeout]);
      const durationMs = Math.round(this.#clock.monotonic() - started);
      if (value === false) return { ...base, ok: false, durationMs, error: 'check returned false' };
      const details = plainDetails(value);
      return details === undefined
        ? { ...base, ok: true, durationMs }
        : { ...base, ok: true, durationMs, details };
    } catch (err) {
      const durationMs = Math.round(this.#clock.monotonic() - started);
      return { ...base, ok: false, durationMs, error: errorText(err) };
    } finally {
      clearTimeout(timer);
    }
  }
}
