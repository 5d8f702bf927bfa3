import type { TypedEmitter } from '../internal/events.js';
import type { Logger } from '../types.js';

/**
 * Events of a lock or semaphore.
 *
 * @example
 * ```ts
 * locks.on('error', ({ resource, operation }) => log.warn('lock background failure', { resource, operation }));
 * ```
 */
export type LockEvents = {
  /** A lease was granted. */
  acquired: {
    /** The locked resource. */
    resource: string;
    /** The lease's fencing token. */
    fencingToken: number;
    /** How long the caller waited, ms. */
    waitedMs: number;
  };
  /** A lease was released by its holder (`owned`: whether we still held it). */
  released: {
    /** The locked resource. */
    resource: string;
    /** The lease's fencing token. */
    fencingToken: number;
    /** Whether the hold was still ours when released. */
    owned: boolean;
  };
  /** A lease's signal fired before release: deadline reached, extend refused, or extend failed. */
  lost: {
    /** The locked resource. */
    resource: string;
    /** The lease's fencing token. */
    fencingToken: number;
    /** Why: the signal's abort reason. */
    reason: unknown;
  };
  /**
   * A background operation failed: a release after an abandoned wait or in
   * `withLock`, a watchdog extend, or (for an adapter whose `onRelease`
   * rejects) `subscribe` / `unsubscribe` of release notifications.
   */
  error: {
    /** The resource involved. */
    resource: string;
    /** What failed: `release`, `extend`... */
    operation: string;
    /** The error. */
    error: unknown;
  };
};

/** @internal Reports a failure no caller sees. */
export type ReportFailure = (resource: string, operation: string, error: unknown) => void;

/** @internal A logger warning and the `error` event, for failures no caller sees. */
export function failureReporter(logger: Logger, events: TypedEmitter<LockEvents>): ReportFailure {
  return (resource, operation, error) => {
    logger.warn?.(`lock ${operation} failed`, { resource, error: String(error) });
    events.emit('error', { resource, operation, error });
  };
}
