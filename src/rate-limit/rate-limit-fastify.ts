import type { FastifyLikeReply } from '../auth/authorize-fastify.js';
import type { AuthContext } from '../auth/authorizer.js';
import {
  type RateLimitMiddlewareOptions,
  type RateLimitResponseLike,
  rateLimitHandler,
} from './rate-limit-middleware.js';

/**
 * The parts of a Fastify request the rate-limit hook uses.
 *
 * @example
 * ```ts
 * app.get('/items', { onRequest: rateLimit({ limiter, key: (req: RateLimitFastifyRequest) => req.ip }) }, list);
 * ```
 */
export interface RateLimitFastifyRequest {
  /** The client address, as Fastify reads it (its `trustProxy` setting applies). */
  ip?: string | undefined;
  /** Set by `authorize` before. */
  auth?: AuthContext | undefined;
}

/**
 * A Fastify 5 hook (`onRequest`, or `preHandler` after `authorize` to key
 * by subject): counts the request and sets `RateLimit-Policy` and
 * `RateLimit`; or answers 429 with `Retry-After` and a JSON body. Limiter
 * failures are thrown to Fastify's error handler.
 *
 * @example
 * ```ts
 * import { authorize, rateLimit } from 'scaleout/fastify';
 * app.post('/orders', { preHandler: [authorize({ jwt }), rateLimit({ limiter, key: 'subject' })] }, createOrder);
 * ```
 */
export function rateLimit(
  options: RateLimitMiddlewareOptions<RateLimitFastifyRequest>,
): <R extends FastifyLikeReply>(request: RateLimitFastifyRequest, reply: R) => Promise<R | undefined> {
  const handle = rateLimitHandler(options);
  return async (request, reply) => {
    const answer = await handle(request, {
      ip: request.ip,
      auth: request.auth,
      response: (reply as { raw?: RateLimitResponseLike }).raw,
    });
    if (answer === undefined) return undefined;
    reply.headers(answer.headers);
    if (answer.allowed) return undefined;
    return reply.code(answer.status).send(answer.body);
  };
}
