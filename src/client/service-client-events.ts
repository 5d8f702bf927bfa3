import type { CallOutcome, UpstreamSource } from '../contracts/upstream.js';
import { InvalidArgumentError } from '../errors.js';
import type { CircuitStateChange } from '../resilience/circuit-breaker.js';

/**
 * The events of a {@link ServiceClient}. Names are kebab-case, as every
 * primitive's; the camelCase names of earlier versions still subscribe
 * (see {@link DeprecatedServiceClientEvents}).
 *
 * @example
 * ```ts
 * client.on('breaker-state-change', (e) => log.warn(`${e.instanceId}: ${e.from} -> ${e.to}`));
 * ```
 */
export type ServiceClientEvents = {
  /** An attempt ended (any outcome). */
  attempt: AttemptEvent;
  /** A retry is about to wait `delayMs`, then be sent. */
  retry: ClientRetryEvent;
  /** The circuit breaker of an instance changed state. */
  'breaker-state-change': BreakerStateChangeEvent;
  /** A retry was refused by the retry budget. */
  'retry-budget-exhausted': CallEvent;
  /**
   * A callback of the client's {@link UpstreamSource} failed: its
   * `onAttemptStart` or `onAttemptEnd` threw, or returned a promise that
   * rejected. The call goes on as if it had succeeded.
   */
  error: ClientErrorEvent;
};

/**
 * The camelCase event names of earlier versions, each the same event as
 * its kebab-case name (`on`/`off` accept both).
 *
 * @deprecated Use the kebab-case names of {@link ServiceClientEvents}:
 * `breakerStateChange` is `breaker-state-change`, `retryBudgetExhausted` is
 * `retry-budget-exhausted`.
 *
 * @example
 * ```ts
 * client.on('breaker-state-change', listener); // was client.on('breakerStateChange', listener)
 * ```
 */
export type DeprecatedServiceClientEvents = {
  /** @deprecated Use `breaker-state-change`. */
  breakerStateChange: BreakerStateChangeEvent;
  /** @deprecated Use `retry-budget-exhausted`. */
  retryBudgetExhausted: CallEvent;
};

/**
 * Fields every event of a call carries.
 *
 * @example
 * ```ts
 * const label = (e: CallEvent) => `${e.service} ${e.method} ${e.url}`;
 * ```
 */
export interface CallEvent {
  /** The service name (or redacted base URL). */
  service: string;
  /** The request method, upper case. */
  method: string;
  /** The request path, without its query string. */
  url: string;
}

/**
 * Payload of the `attempt` event.
 *
 * @example
 * ```ts
 * client.on('attempt', (e: AttemptEvent) => histogram.observe({ outcome: e.outcome }, e.latencyMs));
 * ```
 */
export interface AttemptEvent extends CallEvent {
  /** The instance called. */
  instanceId: string;
  /** 1 for the first attempt of the call. */
  attempt: number;
  /** How it ended. */
  outcome: CallOutcome;
  /** The HTTP status, when an answer arrived. */
  status: number | undefined;
  /** Time from sending to the end of the attempt, in ms. */
  latencyMs: number;
}

/**
 * Payload of the `retry` event.
 *
 * @example
 * ```ts
 * client.on('retry', (e: ClientRetryEvent) => log.info(`retry ${e.attempt} in ${e.delayMs} ms (${e.errorCode})`));
 * ```
 */
export interface ClientRetryEvent extends CallEvent {
  /** The number of the attempt about to be made (2 for the first retry). */
  attempt: number;
  /** The wait before it, in ms (backoff, or Retry-After when longer). */
  delayMs: number;
  /** The `code` of the error that caused the retry. */
  errorCode: string;
}

/**
 * Payload of the `breaker-state-change` event.
 *
 * @example
 * ```ts
 * client.on('breaker-state-change', (e: BreakerStateChangeEvent) => log.warn(`${e.instanceId} ${e.to}`));
 * ```
 */
export interface BreakerStateChangeEvent extends CircuitStateChange {
  /** The service name (or redacted base URL). */
  service: string;
  /** The instance whose breaker changed. */
  instanceId: string;
}

/**
 * Payload of the `error` event: a callback of the client's
 * {@link UpstreamSource} threw or rejected.
 *
 * @example
 * ```ts
 * client.on('error', (e: ClientErrorEvent) => log.warn(`${e.operation} failed for ${e.instanceId}`, e.error));
 * ```
 */
export interface ClientErrorEvent {
  /** The service name (or redacted base URL). */
  service: string;
  /** The instance of the attempt. */
  instanceId: string;
  /** The callback that failed. */
  operation: 'onAttemptStart' | 'onAttemptEnd';
  /** What it threw, or what its promise rejected with. */
  error: unknown;
}

/** Every event name `on`/`off` accept: the current ones, then the deprecated spellings. */
const EVENTS: ReadonlyMap<unknown, keyof ServiceClientEvents> = new Map<
  keyof ServiceClientEvents | keyof DeprecatedServiceClientEvents,
  keyof ServiceClientEvents
>([
  ['attempt', 'attempt'],
  ['retry', 'retry'],
  ['breaker-state-change', 'breaker-state-change'],
  ['retry-budget-exhausted', 'retry-budget-exhausted'],
  ['error', 'error'],
  ['breakerStateChange', 'breaker-state-change'],
  ['retryBudgetExhausted', 'retry-budget-exhausted'],
]);

/**
 * The event `on`/`off` of `method` subscribe to for `event` (a deprecated
 * spelling names its kebab-case event). Refuses an event name the client
 * never emits, or a listener that is not a function.
 *
 * @internal
 */
export function checkListener(method: string, event: unknown, listener: unknown): keyof ServiceClientEvents {
  const name = EVENTS.get(event);
  if (name === undefined) {
    throw new InvalidArgumentError(
      `${method}(): unknown event; ServiceClient emits ${[...new Set(EVENTS.values())].join(', ')}`,
      { argument: 'event' },
    );
  }
  if (typeof listener !== 'function') {
    throw new InvalidArgumentError(`${method}(): listener must be a function`, { argument: 'listener' });
  }
  return name;
}
