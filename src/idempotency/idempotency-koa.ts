import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthContext } from '../auth/authorizer.js';
import { requestPath } from '../internal/request-path.js';
import { type IdempotencyMiddlewareInput, idempotencyHttpHandler } from './http-idempotency.js';
import type { IdempotencyHttpOptions } from './http-options.js';
import { keyHeaderOf } from './idempotency-node.js';

/**
 * The parts of a Koa context the idempotency middleware uses.
 *
 * @example
 * ```ts
 * router.post('/payments', idempotency(keys), (ctx: IdempotencyKoaContext) => { ctx.status = 201; });
 * ```
 */
export interface IdempotencyKoaContext {
  /** The method. */
  method: string;
  /** The URL as received. */
  originalUrl: string;
  /** Request headers. */
  headers: Record<string, string | string[] | undefined>;
  /** The request; `body` is set by a body parser (`@koa/bodyparser`). */
  request: {
    /** The parsed body. */
    body?: unknown;
  };
  /** Koa's per-request state; `auth` is set by `authorize`. */
  state: {
    /** Who is calling, set by `authorize`. */
    auth?: AuthContext | undefined;
    [key: string]: unknown;
  };
  /** The node request. */
  req: IncomingMessage;
  /** The node response. */
  res: ServerResponse;
  /** Response status. */
  status: number;
  /** Response body. */
  body: unknown;
  /** Sets response headers (an array: one line per value). */
  set(field: Record<string, string | string[]>): void;
}

function matchedRoute(ctx: IdempotencyKoaContext): string | undefined {
  const r = (ctx as { _matchedRoute?: unknown })._matchedRoute;
  return typeof r === 'string' ? r : undefined;
}

/**
 * Koa 3 middleware honouring `Idempotency-Key` (see the Express
 * `idempotency` for the rules). Place it after `authorize` (keys are scoped
 * by subject) and the body parser (the body is part of the fingerprint).
 * Store failures are thrown (fail closed).
 *
 * @example
 * ```ts
 * import { authorize, idempotency } from 'scaleout/koa';
 * router.post('/payments', authorize({ jwt }), bodyParser(), idempotency(keys, { required: true }), pay);
 * ```
 */
export function idempotency(
  input?: IdempotencyMiddlewareInput,
  options?: IdempotencyHttpOptions,
): (ctx: IdempotencyKoaContext, next: () => Promise<unknown>) => Promise<void> {
  const handler = idempotencyHttpHandler(input, options);
  const name = handler.settings.header;
  return async (ctx, next) => {
    const url = typeof ctx.originalUrl === 'string' ? ctx.originalUrl : '/';
    const decision = await handler.decide({
      method: ctx.method,
      path: url,
      route: matchedRoute(ctx) ?? requestPath(url),
      headers: ctx.headers,
      body: ctx.request?.body,
      auth: ctx.state?.auth,
      keyHeader: keyHeaderOf(ctx.req, ctx.headers[name], name),
    });
    if (decision.action === 'respond') {
      ctx.status = decision.status; // sets the standard message
      if (decision.statusMessage !== undefined) ctx.res.statusMessage = decision.statusMessage;
      ctx.set(decision.headers);
      ctx.body = decision.body;
      // Koa types a Buffer body (application/octet-stream): the first response had no Content-Type.
      if (decision.headers['content-type'] === undefined) ctx.res.removeHeader('content-type');
      return;
    }
    if (decision.action === 'run') decision.capture(ctx.res);
    await next();
  };
}
