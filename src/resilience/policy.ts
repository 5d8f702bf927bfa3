import { InvalidArgumentError } from '../errors.js';
import { isAbortSignal } from '../internal/abort.js';

/**
 * The context a policy hands to the function it runs.
 *
 * @example
 * ```ts
 * await policy.execute(({ signal }) => fetch(url, { signal }));
 * ```
 */
export interface PolicyContext {
  /** Fires when the call should stop (caller abort, timeout, deadline). Pass it to the I/O. */
  readonly signal: AbortSignal;
}

/**
 * A resilience policy: runs a function under some rule (a timeout, a
 * circuit breaker, a bulkhead, retries). Policies compose with
 * {@link wrap}; each honours the AbortSignal it is given and passes one on.
 *
 * @example
 * ```ts
 * const guarded = wrap(new Bulkhead({ maxConcurrent: 10 }), new TimeoutPolicy({ timeoutMs: 500 }));
 * const body = await guarded.execute(({ signal }) => fetch(url, { signal }).then((r) => r.text()));
 * ```
 */
export interface Policy {
  /** Runs `fn` under this policy. `signal` cancels the whole execution. */
  execute<T>(fn: (context: PolicyContext) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T>;
}

/** @internal A signal that never fires: what policies pass on when given none (no allocation per call). */
export const NEVER_ABORTED: AbortSignal = new AbortController().signal;

/**
 * @internal Checks the arguments of a policy's `execute(fn, signal)`:
 * `fn` a function, `signal` absent or an AbortSignal. Throws
 * `InvalidArgumentError` naming the argument.
 */
export function checkExecuteArguments(where: string, fn: unknown, signal: unknown): void {
  if (typeof fn !== 'function') {
    throw new InvalidArgumentError(`${where}: fn must be a function ({ signal }) => work`, {
      argument: 'fn',
    });
  }
  checkSignalArgument(where, signal);
}

/** @internal Throws `InvalidArgumentError` unless `signal` is undefined or an AbortSignal. */
export function checkSignalArgument(where: string, signal: unknown): void {
  if (signal !== undefined && !isAbortSignal(signal)) {
    throw new InvalidArgumentError(`${where}: signal must be an AbortSignal`, { argument: 'signal' });
  }
}
