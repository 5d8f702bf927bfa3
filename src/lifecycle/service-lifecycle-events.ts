import type { ShutdownReport, ShutdownStep, StepReport } from './shutdown-report.js';

/**
 * The events of a {@link ServiceLifecycle} (kebab-case, typed payloads).
 *
 * @example
 * ```ts
 * lifecycle.on('shutdown', ({ reason }) => log.info('stopping', { reason }));
 * ```
 */
export type ServiceLifecycleEvents = {
  /** Readiness changed (`markReady()`, `markNotReady()`, or the stop). */
  readiness: { readonly ready: boolean };
  /** The stop started. */
  shutdown: { readonly reason: string };
  /** A step started. */
  'step-start': { readonly step: ShutdownStep; readonly name: string };
  /** A step ended (done, failed, overran or forced). */
  'step-end': StepReport;
  /** The deadline passed: the coordinator forces the rest. */
  deadline: { readonly step: ShutdownStep; readonly name: string; readonly deadlineMs: number };
  /** The stop ended. */
  stopped: ShutdownReport;
};
