import { listenerChecker } from '../internal/validate.js';
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
  readiness: {
    /** Whether `/ready` now answers 200. */
    readonly ready: boolean;
  };
  /** The stop started. */
  shutdown: {
    /** What started it: the signal's name, or `shutdown()`'s reason. */
    readonly reason: string;
  };
  /** A step started. */
  'step-start': {
    /** The step. */
    readonly step: ShutdownStep;
    /** What it acts on (a resource's name), or the step itself. */
    readonly name: string;
  };
  /** A step ended (done, failed, overran or forced). */
  'step-end': StepReport;
  /** The deadline passed: the coordinator forces the rest. */
  deadline: {
    /** The step that was running. */
    readonly step: ShutdownStep;
    /** What it was acting on. */
    readonly name: string;
    /** The deadline that passed, ms. */
    readonly deadlineMs: number;
  };
  /** The stop ended. */
  stopped: ShutdownReport;
};

const EVENT_NAMES: Record<keyof ServiceLifecycleEvents, true> = {
  readiness: true,
  shutdown: true,
  'step-start': true,
  'step-end': true,
  deadline: true,
  stopped: true,
};

/** @internal Refuses an unknown event name or a listener that is not a function. */
export const checkListener = listenerChecker(Object.keys(EVENT_NAMES));
