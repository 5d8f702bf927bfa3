/**
 * What tells a client that a request never started on the instance it was
 * sent to, so it may go to another instance whatever its method: the
 * instance was draining (a deploy), not failing.
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

/**
 * Whether a connection failure happened on a kept-alive socket that the
 * server closed while it was idle (`ECONNRESET`/`EPIPE` on a reused
 * socket, no answer): the race node documents for keep-alive agents, and
 * what a draining server's idle-socket close looks like to a client that
 * had just picked that socket. The server closed it as idle, so it had not
 * started the request; the client may send it again, to another instance,
 * whatever its method.
 *
 * @internal
 */
export function closedBeforeSending(err: unknown): boolean {
  const e = err as { code?: unknown; request?: { reusedSocket?: unknown }; response?: unknown } | null;
  if (e === null || typeof e !== 'object' || e.response !== undefined) return false;
  return (e.code === 'ECONNRESET' || e.code === 'EPIPE') && e.request?.reusedSocket === true;
}
