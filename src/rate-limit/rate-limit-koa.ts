import type { KoaLikeContext } from '../auth/authorize-koa.js';
import {
  type RateLimitMiddlewareOptions,
  type RateLimitResponseLike,
  rateLimitHandler,
} from './rate-limit-middleware.js';

/**
 * The parts of a Koa context the rate-limit middleware uses.
 *
 * @example
 * ```ts
 * app.use(rateLimit({ limiter, key: (ctx: RateLimitKoaContext) => ctx.ip }));
 * ```
 */
export interface RateLimitKoaContext extends KoaLikeContext {
  /** The client address, as Koa reads it (its `proxy` setting applies). */
  ip?: string | undefined;
}

/**
 * Koa 3 middleware: counts the request, sets `RateLimit-Policy` and
 * `RateLimit`, and calls `next()`; or answers 429 with `Retry-After` and a
 * JSON body. Limiter failures are thrown.
 *
 * @example
 * ```ts
 * import { authorize, rateLimit } from 'scaleout/koa';
 * router.post('/orders', authorize({ jwt }), rateLimit({ limiter, key: 'subject' }), createOrder);
 * ```
 */
export function rateLimit<C extends RateLimitKoaContext>(
  options: RateLimitMiddlewareOptions<C>,
): (ctx: C, next: () => Promise<unknown>) => Promise<void> {
  const handle = rateLimitHandler(options);
  return async (ctx, next) => {
    const answer = await handle(ctx, {
      ip: ctx.ip,
      auth: ctx.state?.auth,
      response: (ctx as { res?: RateLimitResponseLike }).res,
    });
    if (answer === undefined) {
      await next();
      return;
    }
    ctx.set(answer.headers);
    if (answer.allowed) {
      await next();
      return;
    }
    ctx.status = answer.status;
    ctx.body = answer.body;
  };
}
