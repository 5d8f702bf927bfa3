/**
 * The port between {@link ServiceClient} and whatever finds the instances
 * of a service (a `ServiceRegistry`, a static list, a DNS resolver, a test
 * fake), and the one vocabulary both sides use for how a call ended.
 *
 * @module
 */

/**
 * What a {@link ServiceClient} needs from a service registry: pick an
 * instance to call, and hear how each attempt went. A `ServiceRegistry`
 * given as `registry` is wrapped in a `RegistryUpstreamSource` by the
 * client; any object of this shape works too (a static list, a DNS
 * resolver, a test fake).
 *
 * Every `onAttemptStart` is followed by exactly one `onAttemptEnd` for the
 * same instance, which receives as `token` whatever that `onAttemptStart`
 * returned, so a registry can keep exact outstanding-request counts for
 * least-request balancing (even with several attempts in flight to one
 * instance), and use the outcomes and latencies for outlier ejection.
 *
 * @example
 * ```ts
 * const source: UpstreamSource = {
 *   pick: (service, { exclude }) =>
 *     ['a', 'b'].filter((id) => !exclude.has(id)).map((id) => ({ id, url: `http://${id}.internal` }))[0],
 * };
 * const client = new ServiceClient({ service: 'inventory', registry: source });
 * ```
 */
export interface UpstreamSource {
  /**
   * Chooses an instance of `service`. The client passes the ids it already
   * tried in this call (and instances whose circuit is open) in `exclude`;
   * return one of them only if nothing else is left, or `undefined` when
   * the service has no instance at all.
   */
  pick(
    service: string,
    options: UpstreamPickOptions,
  ): UpstreamInstance | undefined | Promise<UpstreamInstance | undefined>;
  /**
   * Called when an attempt to `instanceId` starts (outstanding count + 1).
   * What it returns is handed back to the `onAttemptEnd` of this attempt.
   *
   * Keep it synchronous: the attempt does not wait for it. A promise (or
   * any thenable) it returns is not awaited; it is the token, as is, and
   * when it rejects, or when the callback throws, the call goes on
   * unharmed and the client reports the failure: to its `logger` (`error`)
   * and as an `error` event (`operation: 'onAttemptStart'`). A rejection
   * is never left unhandled.
   */
  onAttemptStart?(service: string, instanceId: string): unknown;
  /**
   * Called once when that attempt ends (outstanding count - 1), with its
   * result and the value its `onAttemptStart` returned. Failures are
   * reported as for `onAttemptStart` (`operation: 'onAttemptEnd'`), a
   * promise returned by an async implementation included.
   */
  onAttemptEnd?(service: string, instanceId: string, result: AttemptResult, token?: unknown): void;
}

/**
 * Options of {@link UpstreamSource.pick}.
 *
 * @example
 * ```ts
 * registry.pick('inventory', { exclude: new Set(['inventory-1']) });
 * ```
 */
export interface UpstreamPickOptions {
  /** Instance ids to avoid: already tried in this call, or with an open circuit. */
  readonly exclude: ReadonlySet<string>;
}

/**
 * One instance of a service.
 *
 * @example
 * ```ts
 * const instance: UpstreamInstance = { id: 'inventory-1', url: 'http://10.0.0.7:4001' };
 * ```
 */
export interface UpstreamInstance {
  /** Stable id of the instance (keys its circuit breaker). */
  readonly id: string;
  /** Base URL requests are sent to, e.g. `http://10.0.0.7:4001`. */
  readonly url: string;
}

/**
 * How one call to an instance ended: what {@link ServiceClient} reports
 * for each attempt (its `attempt` event, {@link UpstreamSource.onAttemptEnd})
 * and what a `ServiceRegistry`'s `InstanceCall.end` is told.
 * - `success`: a 1xx-3xx answer;
 * - `client-error`: a 4xx answer other than 408 and 429 (the instance is healthy);
 * - `overloaded`: 429, the instance is alive but shedding load (neither a
 *   failure nor a latency sample: a fast refusal must not make it look cheap);
 * - `server-error`: a 5xx answer;
 * - `timeout`: no answer within the attempt timeout, or 408;
 * - `connect-error`: no connection could be made (refused, unreachable, DNS);
 * - `connection-reset`: the connection broke after it was made, before an answer;
 * - `cancelled`: the caller aborted or its deadline expired (says nothing about the instance).
 *
 * A `ServiceRegistry` counts the outcomes of {@link isFailureOutcome} as
 * failures (outlier ejection), `success` and `client-error` as successes,
 * and `overloaded` and `cancelled` as neither; it samples the latency of
 * every outcome but those two and the connection failures (no answer came).
 *
 * @example
 * ```ts
 * const outcome: CallOutcome = res.status >= 500 ? 'server-error' : 'success';
 * ```
 */
export type CallOutcome =
  | 'success'
  | 'client-error'
  | 'overloaded'
  | 'server-error'
  | 'timeout'
  | 'connect-error'
  | 'connection-reset'
  | 'cancelled';

const OUTCOME_NAMES: Record<CallOutcome, true> = {
  success: true,
  'client-error': true,
  overloaded: true,
  'server-error': true,
  timeout: true,
  'connect-error': true,
  'connection-reset': true,
  cancelled: true,
};

/** @internal Every {@link CallOutcome} (a `Record` over the type: a new outcome cannot be left out). */
export const CALL_OUTCOMES: ReadonlySet<unknown> = new Set(Object.keys(OUTCOME_NAMES));

/**
 * The result of one attempt, given to {@link UpstreamSource.onAttemptEnd}.
 *
 * @example
 * ```ts
 * const result: AttemptResult = { outcome: 'success', latencyMs: 3.2, status: 200 };
 * ```
 */
export interface AttemptResult {
  /** How the attempt ended. */
  readonly outcome: CallOutcome;
  /** Time from sending to the end of the attempt, in ms. */
  readonly latencyMs: number;
  /** The HTTP status, when an answer arrived. */
  readonly status?: number | undefined;
}

/**
 * Whether an outcome counts against an instance's health (breaker, outlier
 * ejection): server errors, timeouts and connection failures do; 4xx, 429
 * and cancellations do not.
 *
 * @example
 * ```ts
 * if (isFailureOutcome(result.outcome)) ejector.recordFailure(instanceId);
 * ```
 */
export function isFailureOutcome(outcome: CallOutcome): boolean {
  return (
    outcome === 'server-error' ||
    outcome === 'timeout' ||
    outcome === 'connect-error' ||
    outcome === 'connection-reset'
  );
}
