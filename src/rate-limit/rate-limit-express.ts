import type { ExpressLikeResponse } from '../auth/authorize-express.js';
import type { AuthContext } from '../auth/authorizer.js';
import {
  type RateLimitMiddlewareOptions,
  type RateLimitResponseLike,
  rateLimitHandler,
} from './rate-limit-middleware.js';

/**
 * The parts of an Express request the rate-limit middleware uses.
 *
 * @example
 * ```ts
 * app.use(rateLimit({ limiter, key: (req: RateLimitExpressRequest) => req.ip }));
 * ```
 */
export interface RateLimitExpressRequest {
  /** The client address, as Express reads it (its `trust proxy` setting applies). */
  ip?: string | undefined;
  /** The socket, when `ip` is missing. */
  socket?:
    | {
        /** The peer address. */
        remoteAddress?: string | undefined;
      }
    | undefined;
  /** Set by `authorize` before. */
  auth?: AuthContext | undefined;
}

/**
 * Express 5 (and 4) middleware: counts the request, sets `RateLimit-Policy`
 * and `RateLimit`, and calls `next()`; or answers 429 with `Retry-After`
 * and a JSON body. Limiter failures go to `next(err)`.
 *
 * @example
 * ```ts
 * import { authorize, rateLimit } from 'scaleout/express';
 * app.post('/orders', authorize({ jwt }), rateLimit({ limiter, key: 'subject' }), createOrder);
 * ```
 */
export function rateLimit<R extends RateLimitExpressRequest>(
  options: RateLimitMiddlewareOptions<R>,
): (req: R, res: ExpressLikeResponse, next: (err?: unknown) => void) => Promise<void> {
  const handle = rateLimitHandler(options);
  return async (req, res, next) => {
    let answer: Awaited<ReturnType<typeof handle>>;
    try {
      answer = await handle(req, {
        ip: req.ip ?? req.socket?.remoteAddress,
        auth: req.auth,
        response: res as Partial<RateLimitResponseLike> as RateLimitResponseLike,
      });
    } catch (err) {
      next(err);
      return;
    }
    if (answer === undefined) return next();
    res.set(answer.headers);
    if (answer.allowed) return next();
    res.status(answer.status);
    res.json(answer.body);
  };
}
