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
   */
  onAttemptStart?(service: string, instanceId: string): unknown;
  /**
   * Called once when that attempt ends (outstanding count - 1), with its
   * result and the value its `onAttemptStart` returned.
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
 * How one attempt ended, as seen by the client:
 * - `success`: a 1xx-3xx answer;
 * - `client_error`: a 4xx answer other than 408 and 429 (the instance is healthy);
 * - `overloaded`: 429, the instance is shedding load;
 * - `server_error`: a 5xx answer;
 * - `timeout`: no answer within the attempt timeout, or 408;
 * - `connect_error`: no connection could be made (refused, unreachable, DNS);
 * - `connection_reset`: the connection broke after it was made;
 * - `cancelled`: the caller aborted or its deadline expired (says nothing about the instance).
 *
 * @example
 * ```ts
 * const unhealthy = (o: AttemptOutcome) => o === 'server_error' || o === 'timeout';
 * ```
 */
export type AttemptOutcome =
  | 'success'
  | 'client_error'
  | 'overloaded'
  | 'server_error'
  | 'timeout'
  | 'connect_error'
  | 'connection_reset'
  | 'cancelled';

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
  readonly outcome: AttemptOutcome;
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
export function isFailureOutcome(outcome: AttemptOutcome): boolean {
  return (
    outcome === 'server_error' ||
    outcome === 'timeout' ||
    outcome === 'connect_error' ||
    outcome === 'connection_reset'
  );
}
