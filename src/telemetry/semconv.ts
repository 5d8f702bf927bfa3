/**
 * The OpenTelemetry semantic conventions scaleout emits on (HTTP: stable;
 * messaging: development, v1.27+ names), as constants: scaleout does not
 * depend on `@opentelemetry/semantic-conventions`.
 *
 * @module
 */

/**
 * Bucket boundaries, in seconds, the HTTP conventions advise for
 * `http.client.request.duration` and `http.server.request.duration` (and
 * the messaging conventions for their durations).
 *
 * @example
 * ```ts
 * const last = DURATION_BUCKETS_SECONDS.at(-1); // 10
 * ```
 */
export const DURATION_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
]);

/** HTTP methods the conventions know; any other is reported as `_OTHER`. */
const KNOWN_METHODS = new Set([
  'CONNECT',
  'DELETE',
  'GET',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'POST',
  'PUT',
  'TRACE',
]);

/**
 * `http.request.method` of `method` (upper case): the method when the
 * conventions know it, else `_OTHER` (the original then goes in
 * `http.request.method_original`).
 *
 * @internal
 */
export function httpMethod(method: string): string {
  return KNOWN_METHODS.has(method) ? method : '_OTHER';
}

/** @internal Attribute names (HTTP, stable). */
export const HTTP = {
  method: 'http.request.method',
  methodOriginal: 'http.request.method_original',
  status: 'http.response.status_code',
  resendCount: 'http.request.resend_count',
  route: 'http.route',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  urlFull: 'url.full',
  urlPath: 'url.path',
  urlScheme: 'url.scheme',
  errorType: 'error.type',
} as const;

/** @internal Attribute names (messaging, development). */
export const MESSAGING = {
  system: 'messaging.system',
  destination: 'messaging.destination.name',
  operationType: 'messaging.operation.type',
  operationName: 'messaging.operation.name',
  messageId: 'messaging.message.id',
  consumerGroup: 'messaging.consumer.group.name',
  bodySize: 'messaging.message.body.size',
} as const;

/** @internal scaleout's own attribute names (decisions the conventions have no name for). */
export const SCALEOUT = {
  service: 'scaleout.service',
  instance: 'scaleout.instance.id',
  breakerState: 'scaleout.breaker.state',
  deadlineLeftMs: 'scaleout.deadline.remaining_ms',
  attempt: 'scaleout.attempt',
  retryReason: 'scaleout.retry.reason',
  retryDelayMs: 'scaleout.retry.delay_ms',
  deliveryCount: 'scaleout.messaging.delivery_count',
  outcome: 'scaleout.outcome',
} as const;
