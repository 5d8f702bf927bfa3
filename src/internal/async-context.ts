import { AsyncResource } from 'node:async_hooks';

/**
 * Async context for callbacks that outlive the call that registered them.
 *
 * Node runs a callback in the async context (AsyncLocalStorage stores, the
 * active trace) of whatever scheduled it: a timer in the context of the
 * call that armed it, a `queueMicrotask` in the publisher's, a socket's
 * `data` event in the context of the call that opened the connection.
 * Callbacks a primitive keeps for later (a consumer's handler, a
 * subscriber, a waiter's attempts) must instead run in the context of the
 * call that registered them, and work shared by every caller (sweeps,
 * re-reads, reconnects) in the context the primitive was built in: never
 * in some request's context, which it would also keep alive.
 *
 * Both helpers hold an `AsyncResource` made by the call that captures the
 * context (about 0.1 µs to make, about 0.03 µs per call through it on
 * Node 20). `AsyncResource.bind` and `AsyncLocalStorage.snapshot()` do the
 * same but cost 10-30 µs each on Node 20 (they define properties on a new
 * function), too much for a per-subscription or per-waiter step.
 */

/**
 * `fn` bound to the async context of this call: whoever calls the result,
 * `fn` runs in that context. For a callback with at most one argument
 * (listeners, handlers); a second argument would be dropped.
 *
 * @example
 * ```ts
 * // in consume(): deliveries run in the context of the consume() call
 * consumer.onDelivery = bindToCurrentContext(onDelivery);
 * ```
 */
export function bindToCurrentContext<R>(fn: () => R): () => R;
export function bindToCurrentContext<T, R>(fn: (arg: T) => R): (arg: T) => R;
export function bindToCurrentContext<T, R>(fn: (arg?: T) => R): (arg?: T) => R {
  const context = new AsyncResource('scaleout.callback');
  return (arg?: T) => context.runInAsyncScope(fn, undefined, arg);
}

/** Runs `fn` in a captured async context and returns what it returns. */
export type ContextRunner = <R>(fn: () => R) => R;

/**
 * A runner for the async context of this call. A primitive makes one when
 * it is constructed and starts its shared background work through it
 * (timers, loops, connections opened on first use), so that work runs in
 * the construction's context, not in that of the request that happened to
 * start it first, and keeps no request's context alive.
 *
 * @example
 * ```ts
 * class Sweeper {
 *   readonly #background = captureContext(); // in the constructor's context
 *   #timer: NodeJS.Timeout | undefined;
 *   start(): void {
 *     // Whichever request calls start() first, the interval runs in the construction's context.
 *     this.#timer ??= this.#background(() => setInterval(() => this.#sweep(), 100).unref());
 *   }
 *   #sweep(): void {}
 * }
 * ```
 */
export function captureContext(): ContextRunner {
  const context = new AsyncResource('scaleout.background');
  return (fn) => context.runInAsyncScope(fn);
}
