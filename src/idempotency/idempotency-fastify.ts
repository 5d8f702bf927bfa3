import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { AuthContext } from '../auth/authorizer.js';
import { requestPath } from '../internal/request-path.js';
import { type IdempotencyMiddlewareInput, idempotencyHttpHandler } from './http-idempotency.js';
import type { IdempotencyHttpOptions } from './http-options.js';
import { keyHeaderOf } from './idempotency-node.js';

/**
 * The parts of a Fastify request the idempotency hook uses.
 *
 * @example
 * ```ts
 * const scope = (r: IdempotencyRequestFacts) => String(r.headers['x-tenant'] ?? '');
 * ```
 */
export interface IdempotencyFastifyRequest {
  /** The method. */
  method: string;
  /** The URL with its query. */
  url: string;
  /** The route's options; `url` is the route template. */
  routeOptions?:
    | {
        /** The route template. */
        url?: string | undefined;
      }
    | undefined;
  /** Request headers. */
  headers: Record<string, string | string[] | undefined>;
  /** The parsed body (set before `preHandler`). */
  body?: unknown;
  /** Set by `authorize`: keys are scoped by its subject. */
  auth?: AuthContext | undefined;
  /** The node request. */
  raw: IncomingMessage;
}

/**
 * The parts of a Fastify reply the idempotency hook uses.
 *
 * @example
 * ```ts
 * const reply: IdempotencyFastifyReply = fastifyReply;
 * ```
 */
export interface IdempotencyFastifyReply {
  /** Sets the status code. */
  code(statusCode: number): this;
  /** Sets headers (an array: one line per value). */
  headers(values: Record<string, string | string[]>): this;
  /** Sends the reply. */
  send(payload?: unknown): this;
  /** The node response. */
  raw: ServerResponse;
}

/**
 * A Fastify 5 `preHandler` hook honouring `Idempotency-Key` (see the
 * Express `idempotency` for the rules): it answers replays and problems
 * itself, and watches the response of a request it lets run. Use it as a
 * route's `preHandler` (after `authorize`: keys are scoped by subject); the
 * body is parsed by then and is part of the fingerprint. Store failures are
 * thrown to Fastify's error handler.
 *
 * @example
 * ```ts
 * import { authorize, idempotency } from 'scaleout/fastify';
 * app.post('/payments', { preHandler: [authorize({ jwt }), idempotency(keys, { required: true })] }, pay);
 * ```
 */
export function idempotency(
  input?: IdempotencyMiddlewareInput,
  options?: IdempotencyHttpOptions,
): <R extends IdempotencyFastifyReply>(
  request: IdempotencyFastifyRequest,
  reply: R,
) => Promise<R | undefined> {
  const handler = idempotencyHttpHandler(input, options);
  const name = handler.settings.header;
  return async (request, reply) => {
    const url = typeof request.url === 'string' ? request.url : '/';
    const decision = await handler.decide({
      method: request.method,
      path: url,
      route: request.routeOptions?.url ?? requestPath(url),
      headers: request.headers,
      body: request.body,
      auth: request.auth,
      keyHeader: keyHeaderOf(request.raw, request.headers[name], name),
    });
    if (decision.action === 'pass') return undefined;
    if (decision.action === 'run') {
      decision.capture(reply.raw);
      return undefined;
    }
    const { status, statusMessage, headers, body } = decision;
    // Node sends the message set on the response when writeHead is given none.
    if (statusMessage !== undefined) reply.raw.statusMessage = statusMessage;
    reply.code(status).headers(headers);
    if (headers['content-type'] !== undefined) return reply.send(body);
    // Fastify types a Buffer it sends (application/octet-stream); the first
    // response had no Content-Type, so its bytes go out as a stream, which
    // Fastify sends as is, with their length.
    if (body.length === 0) return reply.send();
    return reply.headers({ 'content-length': String(body.length) }).send(Readable.from([body]));
  };
}
