import type { AuthorizeOptions } from './authorize-options.js';
import { type AuthContext, type Authorizer, toAuthorizer } from './authorizer.js';

/**
 * The parts of an Express request the middleware uses.
 *
 * @example
 * ```ts
 * app.get('/me', authorize(auth), (req, res) => res.json((req as ExpressLikeRequest).auth?.claims));
 * ```
 */
export interface ExpressLikeRequest {
  /** Request headers. */
  headers: Record<string, string | string[] | undefined>;
  /** Set by the middleware when the caller is authorized. */
  auth?: AuthContext;
}

/**
 * The parts of an Express response the middleware uses.
 *
 * @example
 * ```ts
 * const res: ExpressLikeResponse = expressResponse;
 * ```
 */
export interface ExpressLikeResponse {
  /** Sets the status code. */
  status(code: number): unknown;
  /** Sets headers. */
  set(field: Record<string, string>): unknown;
  /** Sends a JSON body. */
  json(body: unknown): unknown;
}

/**
 * Express 5 (and 4) middleware: sets `req.auth` ({@link AuthContext}) and
 * calls `next()`, or answers 401/403 with a `WWW-Authenticate` challenge and
 * a JSON body. Back-end failures go to `next(err)` (fail closed).
 *
 * @example
 * ```ts
 * import { authorize } from 'scaleout/express';
 * app.get('/admin', authorize({ jwt, role: 'admin' }), (req, res) => res.json(req.auth.claims));
 * ```
 */
export function authorize(
  options: AuthorizeOptions | Authorizer,
): (req: ExpressLikeRequest, res: ExpressLikeResponse, next: (err?: unknown) => void) => Promise<void> {
  const authorizer = toAuthorizer(options);
  return async (req, res, next) => {
    let decision: Awaited<ReturnType<Authorizer['decide']>>;
    try {
      decision = await authorizer.decide(req);
    } catch (err) {
      next(err);
      return;
    }
    if (decision.ok) {
      req.auth = decision.auth;
      next();
      return;
    }
    res.status(decision.status);
    res.set(decision.headers);
    res.json(decision.body);
  };
}
