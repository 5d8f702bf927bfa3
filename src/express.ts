/**
 * `scaleout/express`: Express middleware for the scaleout primitives (express is an
 * optional peer dependency).
 *
 * @example
 * ```ts
 * import * as middleware from 'scaleout/express';
 * ```
 *
 * @module scaleout/express
 */

export type { ExpressLikeRequest, ExpressLikeResponse } from './auth/authorize-express.js';
export { authorize } from './auth/authorize-express.js';
export type { IdempotencyExpressRequest } from './idempotency/idempotency-express.js';
export { idempotency } from './idempotency/idempotency-express.js';
export { probeMiddleware } from './lifecycle/probe-express.js';
export { metricsHandler, monitorMiddleware } from './monitor/express-middleware.js';
export type { RateLimitExpressRequest } from './rate-limit/rate-limit-express.js';
export { rateLimit } from './rate-limit/rate-limit-express.js';
export type {
  ExpressSessionCallback,
  ExpressSessionData,
  ExpressSessionModule,
  ExpressSessionStore,
  ExpressSessionStoreOptions,
  StoreConstructor,
} from './session/express-session-store.js';
export { expressSessionStore } from './session/express-session-store.js';
