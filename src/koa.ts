/**
 * `scaleout/koa`: Koa middleware for the scaleout primitives (koa is an
 * optional peer dependency).
 *
 * @example
 * ```ts
 * import * as middleware from 'scaleout/koa';
 * ```
 *
 * @module scaleout/koa
 */

export type { KoaLikeContext } from './auth/authorize-koa.js';
export { authorize } from './auth/authorize-koa.js';
export type { IdempotencyKoaContext } from './idempotency/idempotency-koa.js';
export { idempotency } from './idempotency/idempotency-koa.js';
export { probeMiddleware } from './lifecycle/probe-koa.js';
export { type KoaMonitorOptions, metricsHandler, monitorMiddleware } from './monitor/koa-middleware.js';
export type { RateLimitKoaContext } from './rate-limit/rate-limit-koa.js';
export { rateLimit } from './rate-limit/rate-limit-koa.js';
