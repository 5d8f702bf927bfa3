import { InvalidArgumentError, InvalidOptionsError } from '../errors.js';
import { withTimeout } from '../internal/abort.js';
import { isSecretKey, maskSecrets } from '../internal/redact.js';
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
  /** Why it failed: an error's name and message (never a stack; credentials in URLs masked). */
  readonly error?: string;
  /** The failure's `code` when it has one (`ERR_TIMEOUT` for a check that overran its timeout). */
  readonly code?: string;
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
  /** What `/live` answers: always true (the process answers; it stays live while it drains). */
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

/** Masked, then cut: cutting first could leave half a URL's password without its `@`. */
function maskedPrefix(text: string, length: number): string {
  return maskSecrets(text.slice(0, 2_000)).slice(0, length);
}

const TOO_LONG = Symbol('too long');

/**
 * Plain data only: what a check resolved to may hold a connection, a
 * secret or a cycle. Values under secret-looking keys are replaced, URLs
 * lose their credentials.
 */
function plainDetails(value: unknown): unknown {
  if (value === undefined || value === null || value === true) return undefined;
  if (typeof value === 'string') return maskedPrefix(value, 200);
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value !== 'object') return undefined;
  try {
    const text = JSON.stringify(value, (key, v: unknown) => {
      if (key !== '' && isSecretKey(key)) return '[redacted]';
      if (typeof v !== 'string') return v;
      // Over the size cap the details are dropped anyway: do not scan a huge string.
      if (v.length > 2_000) throw TOO_LONG;
      return maskSecrets(v);
    });
    return text !== undefined && text.length <= 2_000 ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

function errorText(err: unknown): string {
  try {
    if (err instanceof Error) return maskedPrefix(`${String(err.name)}: ${String(err.message)}`, 300);
  } catch {
    // A hostile error (a throwing getter, a Proxy): its text is not worth a crash.
  }
  return 'check failed';
}

function errorCode(err: unknown): string | undefined {
  try {
    const code = (err as { code?: unknown } | null)?.code;
    return typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(code) ? code : undefined;
  } catch {
    return undefined; // a hostile getter
  }
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
  #running: Promise<CheckResult[]> | undefined;

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

  /**
   * Runs every check; callers that arrive while a run is under way share
   * it (probes from several load balancers do not multiply the checks).
   */
  run(): Promise<CheckResult[]> {
    this.#running ??= Promise.all([...this.#entries.values()].map((e) => this.#runOne(e))).finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #runOne(entry: Entry): Promise<CheckResult> {
    const started = this.#clock.monotonic();
    const controller = new AbortController();
    const base = { name: entry.name, critical: entry.critical };
    try {
      // Past timeoutMs: TimeoutError, and the check's signal aborts with it.
      const value = await withTimeout(
        (async () => entry.check({ signal: controller.signal }))(),
        entry.timeoutMs,
        `check "${entry.name}"`,
        (error) => controller.abort(error),
      );
      const durationMs = Math.round(this.#clock.monotonic() - started);
      if (value === false) return { ...base, ok: false, durationMs, error: 'check returned false' };
      const details = plainDetails(value);
      return details === undefined
        ? { ...base, ok: true, durationMs }
        : { ...base, ok: true, durationMs, details };
    } catch (err) {
      const durationMs = Math.round(this.#clock.monotonic() - started);
      const code = errorCode(err);
      return {
        ...base,
        ok: false,
        durationMs,
        error: errorText(err),
        ...(code === undefined ? {} : { code }),
      };
    }
  }
}
