import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthContext } from '../auth/authorizer.js';
import { requestPath } from '../internal/request-path.js';
import { type IdempotencyMiddlewareInput, idempotencyHttpHandler } from './http-idempotency.js';
import type { IdempotencyHttpOptions } from './http-options.js';
import { keyHeaderOf, sendDecision } from './idempotency-node.js';

/**
 * The parts of an Express request the idempotency middleware uses. It also
 * reads `req.body`, as a body parser (`express.json()`) left it; the field
 * is not declared here so that your handlers keep Express's own body type.
 *
 * @example
 * ```ts
 * app.post('/payments', idempotency(keys, { scope: (r) => String(r.headers['x-tenant']) }), pay);
 * ```
 */
export interface IdempotencyExpressRequest {
  /** The method. */
  method: string;
  /** The URL as received (before routers strip their mount path). */
  originalUrl?: string;
  /** The URL. */
  url?: string;
  /** The mount path of the router that matched. */
  baseUrl?: string;
  /** The matched route (its path is the route template). */
  route?:
    | {
        /** The route's path template. */
        path?: unknown;
      }
    | undefined;
  /** Request headers. */
  headers: Record<string, string | string[] | undefined>;
  /** Set by `authorize`: keys are scoped by its subject. */
  auth?: AuthContext | undefined;
}

/**
 * Express 5 (and 4) middleware honouring `Idempotency-Key`: the first
 * request with a key runs and its response (status, chosen headers, body)
 * is kept; a repeat gets the kept response with `Idempotency-Replayed:
 * true`; a concurrent repeat waits, then gets 409; the key reused with
 * another request gets 422; a 5xx is not kept, so a retry runs. Place it
 * after `authorize` (keys are scoped by subject) and after the body parser
 * (the body is part of the fingerprint). Store failures go to `next(err)`.
 *
 * @example
 * ```ts
 * import { authorize, idempotency } from 'scaleout/express';
 * const keys = new Idempotency({ adapter: redisIdempotencyStore({ connection: redis }) });
 * app.post('/payments', authorize({ jwt }), express.json(), idempotency(keys, { required: true }), pay);
 * ```
 */
export function idempotency(
  input?: IdempotencyMiddlewareInput,
  options?: IdempotencyHttpOptions,
): (req: IdempotencyExpressRequest, res: ServerResponse, next: (err?: unknown) => void) => Promise<void> {
  const handler = idempotencyHttpHandler(input, options);
  const name = handler.settings.header;
  return async (req, res, next) => {
    let decision: Awaited<ReturnType<typeof handler.decide>>;
    try {
      const url = req.originalUrl ?? req.url ?? '/';
      const route =
        typeof req.route?.path === 'string' ? `${req.baseUrl ?? ''}${req.route.path}` : requestPath(url);
      decision = await handler.decide({
        method: req.method,
        path: url,
        route,
        headers: req.headers,
        body: (req as { body?: unknown }).body,
        auth: req.auth,
        keyHeader: keyHeaderOf(req as unknown as IncomingMessage, req.headers[name], name),
      });
    } catch (err) {
      next(err);
      return;
    }
    if (decision.action === 'respond') {
      sendDecision(res, decision);
      return;
    }
    if (decision.action === 'run') decision.capture(res);
    next();
  };
}
