import type { AuthorizeOptions } from './authorize-options.js';
import { type AuthContext, type Authorizer, toAuthorizer } from './authorizer.js';

/**
 * The parts of a Koa context the middleware uses.
 *
 * @example
 * ```ts
 * router.get('/me', authorize(auth), (ctx: KoaLikeContext) => { ctx.body = ctx.state.auth?.claims; });
 * ```
 */
export interface KoaLikeContext {
  /** Request headers. */
  headers: Record<string, string | string[] | undefined>;
  /** Response status. */
  status: number;
  /** Response body. */
  body: unknown;
  /** Sets response headers. */
  set(field: Record<string, string>): void;
  /** Koa's per-request state. */
  state: {
    /** Set by the middleware when the caller is authorized. */
    auth?: AuthContext;
    [key: string]: unknown;
  };
}

/**
 * Koa 3 middleware: sets `ctx.state.auth` ({@link AuthContext}) and calls
 * `next()`, or answers 401/403 with a `WWW-Authenticate` challenge and a
 * JSON body. Back-end failures are thrown (fail closed).
 *
 * @example
 * ```ts
 * import { authorize } from 'scaleout/koa';
 * router.get('/admin', authorize({ jwt, role: 'admin' }), (ctx) => { ctx.body = ctx.state.auth.claims; });
 * ```
 */
export function authorize(
  options: AuthorizeOptions | Authorizer,
): (ctx: KoaLikeContext, next: () => Promise<unknown>) => Promise<void> {
  const authorizer = toAuthorizer(options);
  return async (ctx, next) => {
    const decision = await authorizer.decide(ctx);
    if (decision.ok) {
      ctx.state.auth = decision.auth;
      await next();
      return;
    }
    ctx.status = decision.status;
    ctx.set(decision.headers);
    ctx.body = decision.body;
  };
}
