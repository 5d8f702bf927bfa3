/**
 * Keeps a request's async context on the events of its `IncomingMessage`.
 *
 * Node emits a request's `data` and `end` events from the HTTP parser, in
 * the async context the connection was read in, not in that of the
 * middleware that entered the request's scope (its SERVER span, its
 * deadline). A handler that reads the body with `req.on('data')` /
 * `req.on('end')` would then make its calls outside the request: in a new
 * trace, without the deadline. Body parsers that bind their callbacks
 * (raw-body behind `express.json()`, Fastify's content-type parser, an
 * `await` in Koa) keep the context themselves; this covers the rest.
 *
 * @module
 */
import { AsyncResource } from 'node:async_hooks';
import type { EventEmitter } from 'node:events';

/**
 * Makes every later `emit` of `emitter` run its listeners in the async
 * context of this call (one `AsyncResource` per emitter, about 0.1 µs per
 * event). Call it inside the scope to keep.
 *
 * @internal
 */
export function emitInCurrentContext(emitter: EventEmitter): void {
  const resource = new AsyncResource('scaleout.request');
  const emit = emitter.emit as (this: EventEmitter, ...args: unknown[]) => boolean;
  emitter.emit = function emitInContext(this: EventEmitter, ...args: unknown[]): boolean {
    return resource.runInAsyncScope(emit, this, ...args);
  } as EventEmitter['emit'];
}
