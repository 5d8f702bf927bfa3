import type { AuthorizeOptions } from './authorize-options.js';
import { type AuthContext, type Authorizer, toAuthorizer } from './authorizer.js';

/**
 * The parts of a Fastify request the hook uses.
 *
 * @example
 * ```ts
 * app.get('/me', { preHandler: authorize(auth) }, async (req) => (req as FastifyLikeRequest).auth?.claims);
 * ```
 */
export interface FastifyLikeRequest {
  /** Request headers. */
  headers: Record<string, string | string[] | undefined>;
  /** Set by the hook when the caller is authorized. */
  auth?: AuthContext;
}

/**
 * The parts of a Fastify reply the hook uses.
 *
 * @example
 * ```ts
 * const reply: FastifyLikeReply = fastifyReply;
 * ```
 */
export interface FastifyLikeReply {
  /** Sets the status code. */
  code(statusCode: number): this;
  /** Sets headers. */
  headers(values: Record<string, string>): this;
  /** Sends the reply. */
  send(payload?: unknown): this;
}

/**
 * A Fastify 5 `preHandler` (or `onRequest`) hook: sets `request.auth`
 * ({@link AuthContext}), or answers 401/403 with a `WWW-Authenticate`
 * challenge. Back-end failures are thrown to Fastify's error handler.
 *
 * @example
 * ```ts
 * import { authorize } from 'scaleout/fastify';
 * app.get('/admin', { preHandler: authorize({ jwt, role: 'admin' }) }, async (req) => req.auth.claims);
 * ```
 */
export function authorize(
  options: AuthorizeOptions | Authorizer,
): <R extends FastifyLikeReply>(request: FastifyLikeRequest, reply: R) => Promise<R | undefined> {
  const authorizer = toAuthorizer(options);
  return async (request, reply) => {
    const decision = await authorizer.decide(request);
    if (decision.ok) {
      request.auth = decision.auth;
      return undefined;
    }
    return reply.code(decision.status).headers(decision.headers).send(decision.body);
  };
}
