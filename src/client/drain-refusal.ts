/**
 * What tells a client that a request never started on the instance it was
 * sent to, so it may go to another instance whatever its method: the
 * instance was draining (a deploy), not failing. (A refused connection
 * always was retryable whatever the method. A reset of a reused keep-alive
 * socket is not taken as "never started": a server that dies mid-request
 * looks the same, so it is retried only when the call may be replayed. A
 * draining server never resets a busy socket: it ends idle ones, and a
 * request that still reaches it is refused with the marked 503.)
 *
 * @module
 */
import { DRAINING_HEADER } from '../lifecycle/http-drain.js';

/**
 * Whether an answer is a draining instance's refusal: a `503` carrying
 * `x-scaleout-draining: 1`, which `ServiceLifecycle` sends instead of
 * running the application (the request never started). Its outcome is
 * `overloaded` (the instance is alive, neither a failure nor a latency
 * sample), and it is retried on another instance whatever the method.
 *
 * @internal
 */
export function isDrainRefusal(status: number, headers: unknown): boolean {
  if (status !== 503 || typeof headers !== 'object' || headers === null) return false;
  const value =
    typeof (headers as { get?: unknown }).get === 'function'
      ? (headers as { get(name: string): unknown }).get(DRAINING_HEADER)
      : (headers as Record<string, unknown>)[DRAINING_HEADER];
  return value === '1';
}
