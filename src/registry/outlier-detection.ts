/**
 * Outlier detection: passive health from the results of real calls,
 * reported through `ServiceRegistry.startCall()` / `trackCall()` (and so by
 * `ServiceClient`). Each instance of a view goes through these states:
 *
 * ```
 *            failure (5xx, connect error, timeout): consecutiveFailures + 1
 *            success or 4xx: consecutiveFailures = 0
 *            429 (overloaded), cancelled: no change
 *   ┌──────────┐
 *   │    IN    │──── consecutiveFailures reaches the threshold ────┐
 *   └──────────┘     and the view is below maxEjectionPercent       │
 *        ▲                                                          ▼
 *        │                                               ┌───────────────────┐
 *        └── ejectedUntil passes (seen by the next pick: │ EJECTED until     │
 *            routing rebuilds the candidates), count     │ now + base × n    │
 *            reset, slow start begins                    │ (≤ maxEjectionMs) │
 *                                                        └───────────────────┘
 * ```
 *
 * - `n` is the instance's ejection count: each ejection adds one, and each
 *   `baseEjectionMs` spent back IN since the last ejection ended forgives
 *   one, so an instance that keeps failing stays out longer and longer, and
 *   one that recovered starts from scratch.
 * - The cap guards the fleet: at most `maxEjectionPercent` of a view is
 *   ejected at once (at least one instance when the view has two or more,
 *   none when it has one), so a wave of failures that hits every instance
 *   (a bad dependency, a bad client) cannot eject them all.
 * - Failures reported for an instance that has left the view, or that is
 *   already ejected, eject nothing.
 * - Ejection is this process's opinion: it steers this process's picks and
 *   is never written to the shared store.
 *
 * @module
 */
import { InvalidOptionsError } from '../errors.js';
import { durationOption, optionsChecker } from '../internal/validate.js';
import type { Clock } from '../types.js';
import type { InstanceState } from './instance-state.js';

/**
 * Options of outlier detection (`ServiceRegistryOptions.outlierDetection`):
 * passive health from the results of real calls reported through
 * `ServiceRegistry.startCall()`.
 *
 * @example
 * ```ts
 * const registry = new ServiceRegistry({ outlierDetection: { consecutiveFailures: 3, baseEjectionMs: 10_000 } });
 * ```
 */
export interface OutlierDetectionOptions {
  /**
   * Consecutive failed calls (5xx, connect failure, timeout) that eject an instance.
   * @default 5
   */
  consecutiveFailures?: number;
  /**
   * Ejection time of a first ejection, ms; each further ejection adds as much again.
   * @default 30_000
   */
  baseEjectionMs?: number;
  /**
   * Cap on one ejection's duration, ms.
   * @default 300_000
   */
  maxEjectionMs?: number;
  /**
   * At most this share of a service's instances is ejected at once, in
   * percent (with two or more instances, at least one may be).
   * @default 50
   */
  maxEjectionPercent?: number;
}

/**
 * The defaults of {@link OutlierDetectionOptions}.
 *
 * @example
 * ```ts
 * const strict = { ...OUTLIER_DETECTION_DEFAULTS, consecutiveFailures: 2 };
 * ```
 */
export const OUTLIER_DETECTION_DEFAULTS = {
  /** 5 failures in a row. */
  consecutiveFailures: 5,
  /** 30 s first ejection. */
  baseEjectionMs: 30_000,
  /** 5 min at most. */
  maxEjectionMs: 300_000,
  /** Half the fleet at most. */
  maxEjectionPercent: 50,
} as const;

/**
 * The former name of {@link OUTLIER_DETECTION_DEFAULTS}.
 *
 * @deprecated Use {@link OUTLIER_DETECTION_DEFAULTS} (issue 17: every defaults constant is named `<NAME>_DEFAULTS`).
 */
export const DEFAULT_OUTLIER_DETECTION_OPTIONS = OUTLIER_DETECTION_DEFAULTS;

const checkOutlierDetectionOptions = optionsChecker({
  where: 'outlierDetection options',
  keys: ['consecutiveFailures', 'baseEjectionMs', 'maxEjectionMs', 'maxEjectionPercent'],
  hints: { failures: 'consecutiveFailures', ejectionMs: 'baseEjectionMs', maxPercent: 'maxEjectionPercent' },
});

/** Resolves and validates outlier detection options. @internal */
export function resolveOutlierDetection(options: OutlierDetectionOptions): Required<OutlierDetectionOptions> {
  checkOutlierDetectionOptions(options);
  const d = OUTLIER_DETECTION_DEFAULTS;
  const consecutiveFailures = options.consecutiveFailures ?? d.consecutiveFailures;
  if (!Number.isInteger(consecutiveFailures) || consecutiveFailures < 1 || consecutiveFailures > 10_000) {
    throw new InvalidOptionsError('outlierDetection.consecutiveFailures must be an integer in [1, 10000]', {
      option: 'consecutiveFailures',
    });
  }
  const maxEjectionPercent = options.maxEjectionPercent ?? d.maxEjectionPercent;
  if (typeof maxEjectionPercent !== 'number' || !(maxEjectionPercent >= 0 && maxEjectionPercent <= 100)) {
    throw new InvalidOptionsError('outlierDetection.maxEjectionPercent must be in [0, 100]', {
      option: 'maxEjectionPercent',
    });
  }
  const baseEjectionMs = durationOption('baseEjectionMs', options.baseEjectionMs ?? d.baseEjectionMs);
  const maxEjectionMs = durationOption('maxEjectionMs', options.maxEjectionMs ?? d.maxEjectionMs);
  if (maxEjectionMs < baseEjectionMs) {
    throw new InvalidOptionsError('outlierDetection.maxEjectionMs must be at least baseEjectionMs', {
      option: 'maxEjectionMs',
    });
  }
  return { consecutiveFailures, baseEjectionMs, maxEjectionMs, maxEjectionPercent };
}

/**
 * @internal Counts one call result of `state` (an instance of the view
 * whose instances are `states`): `failed` for a 5xx, a connect error or a
 * timeout, not for a success or a 4xx (the caller leaves 429 and cancelled
 * calls out). Ejects it when the failures in a row reach the threshold:
 * the IN → EJECTED transition of the machine above. Returns
 * how long it is ejected for, ms, when this outcome ejected it; `0` when it
 * did not. The caller marks the view for a rebuild and emits `ejection`.
 *
 * @example
 * ```ts
 * const durationMs = recordCallOutcome(outliers, view.states, state, true, clock);
 * if (durationMs > 0) view.dirty = true;
 * ```
 */
export function recordCallOutcome(
  outliers: Required<OutlierDetectionOptions>,
  states: ReadonlyMap<string, InstanceState>,
  state: InstanceState,
  failed: boolean,
  clock: Clock,
): number {
  if (!failed) {
    state.consecutiveFailures = 0;
    return 0;
  }
  state.consecutiveFailures++;
  if (state.consecutiveFailures < outliers.consecutiveFailures || states.get(state.instance.id) !== state) {
    return 0;
  }
  const now = clock.monotonic();
  if (state.ejectedUntil > now) return 0;
  let ejected = 0;
  for (const s of states.values()) if (s.ejectedUntil > now) ejected++;
  const total = states.size;
  const cap = total >= 2 ? Math.max(1, Math.floor((total * outliers.maxEjectionPercent) / 100)) : 0;
  if (outliers.maxEjectionPercent === 0 || ejected >= cap) return 0;
  // Each base period without an ejection forgives one earlier ejection.
  if (state.ejections > 0 && state.lastEjectionEnd > 0) {
    const forgiven = Math.floor((now - state.lastEjectionEnd) / outliers.baseEjectionMs);
    state.ejections = Math.max(0, state.ejections - forgiven);
  }
  state.ejections++;
  const durationMs = Math.min(outliers.baseEjectionMs * state.ejections, outliers.maxEjectionMs);
  state.ejectedUntil = now + durationMs;
  state.consecutiveFailures = 0;
  return durationMs;
}

/**
 * @internal The EJECTED → IN transition: when the ejection of `state` has
 * run out by `now`, lets it back (its failure count forgiven) and returns
 * `true`; the caller starts its slow start and emits `ejection`.
 *
 * @example
 * ```ts
 * if (endEjectionIfDue(state, now)) state.startWarmUp(now, slowStartMs);
 * ```
 */
export function endEjectionIfDue(state: InstanceState, now: number): boolean {
  if (state.ejectedUntil === 0 || state.ejectedUntil > now) return false;
  state.ejectedUntil = 0;
  state.lastEjectionEnd = now;
  state.consecutiveFailures = 0;
  return true;
}
