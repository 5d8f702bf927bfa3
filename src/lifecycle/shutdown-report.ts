/**
 * The steps of a stop, in order:
 *
 * 1. `not-ready`: readiness answers 503 (load balancers and Kubernetes
 *    stop routing here); HTTP responses carry `Connection: close`.
 * 2. `deregister`: every managed registration is deregistered (every
 *    registry view drops the instance on the announcement).
 * 3. `drain-delay`: keeps serving for `drainDelayMs` while the load
 *    balancers catch up (0 by default).
 * 4. `stop-accepting`: listeners closed, idle keep-alive sockets ended;
 *    a request still arriving is refused with a draining 503.
 * 5. `drain-http`: requests in flight finish; each socket closes after
 *    its last response.
 * 6. `stop-consumers`: queue consumers take no new message and finish
 *    (and acknowledge) the ones in flight.
 * 7. `close`: every other managed resource, in reverse order of `manage()`
 *    (what was built last, and depends on what was built before, closes
 *    first).
 *
 * @example
 * ```ts
 * const step: ShutdownStep = 'drain-http';
 * ```
 */
export type ShutdownStep =
  | 'not-ready'
  | 'deregister'
  | 'drain-delay'
  | 'stop-accepting'
  | 'drain-http'
  | 'stop-consumers'
  | 'close';

/**
 * How one step ended: `done`; `failed` (it threw: the stop goes on);
 * `overran` (the deadline passed, or a second signal came, while it ran:
 * forced); `forced` (started after that, not waited for).
 *
 * @example
 * ```ts
 * const outcome: StepOutcome = 'overran';
 * ```
 */
export type StepOutcome = 'done' | 'failed' | 'overran' | 'forced';

/**
 * One step of a stop, as reported.
 *
 * @example
 * ```ts
 * lifecycle.on('step-end', (s: StepReport) => log.info(`${s.step} ${s.name}: ${s.outcome} in ${s.durationMs} ms`));
 * ```
 */
export interface StepReport {
  /** The step. */
  readonly step: ShutdownStep;
  /** What the step acted on (a resource's name), or the step itself. */
  readonly name: string;
  /** How it ended. */
  readonly outcome: StepOutcome;
  /** How long it ran, ms. */
  readonly durationMs: number;
  /**
   * Why it failed, for `failed`; for `overran`, a `TimeoutError` (the
   * deadline) or an `AbortedError` (a second signal).
   */
  readonly error?: unknown;
}

/**
 * What a stop did: the steps, whether it was clean, the exit code.
 *
 * @example
 * ```ts
 * const report: ShutdownReport = await lifecycle.shutdown();
 * if (!report.clean) log.warn('forced stop', { overran: report.overran });
 * ```
 */
export interface ShutdownReport {
  /** What started it: a signal name or `'shutdown()'`. */
  readonly reason: string;
  /** No step failed or overran. */
  readonly clean: boolean;
  /** 0 when clean, else 1. */
  readonly exitCode: 0 | 1;
  /** From the start of the stop to its end, ms. */
  readonly durationMs: number;
  /** Every step, in the order run. */
  readonly steps: readonly StepReport[];
  /** The steps that overran (the deadline, or a second signal), as `step:name`. */
  readonly overran: readonly string[];
  /** HTTP requests refused with a draining 503 during the stop. */
  readonly refusedRequests: number;
}
