/**
 * The deadline an incoming request brought with it, for the calls made
 * while handling it.
 *
 * ```text
 * incoming request (x-request-deadline-ms: 800)
 *   monitor middleware: readDeadline(req) and the trace context, in one step
 *     handler ── ServiceClient call: deadlineAt = min(its own deadlineMs from now,
 *                                                     what is left of the 800 ms)
 *             └─ the next hop gets the remaining budget in its own header
 * ```
 *
 * The monitor middleware (node:http, Express, Fastify, Koa) run the rest of
 * the chain in {@link runWithInheritedDeadline} when the request carries a
 * `DEADLINE_HEADER`; `ServiceClient` reads
 * {@link inheritedDeadline} for every call that passes no `deadlineAt` of
 * its own (`deadlineAt: Infinity` opts a call out: work meant to outlive
 * the request). The store is an `AsyncLocalStorage`, so the deadline
 * follows the handler's awaits, timers and body parsers, and nothing else:
 * a queue consumer or a background refresh runs in the context it was
 * registered in, not in a request's.
 *
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** The absolute deadline (epoch ms, `Date.now()` based) of the request being handled. */
const scope = new AsyncLocalStorage<number>();

/**
 * Runs `fn` with `deadlineAt` (epoch ms, `Date.now()` based, as
 * `readDeadline` returns it) as the deadline of the calls made inside it.
 *
 * @internal
 */
export function runWithInheritedDeadline<R>(deadlineAt: number, fn: () => R): R {
  return scope.run(deadlineAt, fn);
}

/**
 * The deadline inherited from the request being handled (epoch ms,
 * `Date.now()` based), or `undefined` outside one or when it carried none.
 *
 * @internal
 */
export function inheritedDeadline(): number | undefined {
  return scope.getStore();
}
