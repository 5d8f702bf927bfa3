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
  headers: Record<string, string | string[] | undefined>;
  status: number;
  body: unknown;
  set(field: Record<string, string>): void;
  state: { auth?: AuthContext; [key: string]: unknown };
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
