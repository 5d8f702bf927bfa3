/**
 * `scaleout/fastify`: Fastify middleware for the scaleout primitives (fastify is an
 * optional peer dependency).
 *
 * @example
 * ```ts
 * import * as middleware from 'scaleout/fastify';
 * ```
 *
 * @module scaleout/fastify
 */

export type { FastifyLikeReply, FastifyLikeRequest } from './auth/authorize-fastify.js';
export { authorize } from './auth/authorize-fastify.js';
export type {
  IdempotencyFastifyReply,
  IdempotencyFastifyRequest,
} from './idempotency/idempotency-fastify.js';
export { idempotency } from './idempotency/idempotency-fastify.js';
export { probePlugin } from './lifecycle/probe-fastify.js';
export { type FastifyMonitorOptions, metricsHandler, monitorPlugin } from './monitor/fastify-plugin.js';
export type { RateLimitFastifyRequest } from './rate-limit/rate-limit-fastify.js';
export { rateLimit } from './rate-limit/rate-limit-fastify.js';
