import { InvalidOptionsError } from '../errors.js';
import { durationOption, optionsChecker } from '../internal/validate.js';

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
 * const strict = { ...DEFAULT_OUTLIER_DETECTION_OPTIONS, consecutiveFailures: 2 };
 * ```
 */
export const DEFAULT_OUTLIER_DETECTION_OPTIONS = {
  /** 5 failures in a row. */
  consecutiveFailures: 5,
  /** 30 s first ejection. */
  baseEjectionMs: 30_000,
  /** 5 min at most. */
  maxEjectionMs: 300_000,
  /** Half the fleet at most. */
  maxEjectionPercent: 50,
} as const;

const checkOutlierDetectionOptions = optionsChecker({
  where: 'outlierDetection options',
  keys: ['consecutiveFailures', 'baseEjectionMs', 'maxEjectionMs', 'maxEjectionPercent'],
  hints: { failures: 'consecutiveFailures', ejectionMs: 'baseEjectionMs', maxPercent: 'maxEjectionPercent' },
});

/** Resolves and validates outlier detection options. @internal */
export function resolveOutlierDetection(options: OutlierDetectionOptions): Required<OutlierDetectionOptions> {
  checkOutlierDetectionOptions(options);
  const d = DEFAULT_OUTLIER_DETECTION_OPTIONS;
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
