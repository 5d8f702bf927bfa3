/**
 * `scaleout/redis`: Redis adapters for the scaleout primitives, on ioredis
 * (an optional peer dependency: install `ioredis` to use this entry), and
 * the plumbing they share: connection handling, Lua scripts called by SHA,
 * key prefixes with Cluster hash tags.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { defineRedisScript } from 'scaleout/redis';
 * ```
 *
 * @module scaleout/redis
 */

export type { RedisIdempotencyStoreOptions } from './adapters/redis/idempotency.js';
export {
  REDIS_IDEMPOTENCY_STORE_DEFAULTS,
  RedisIdempotencyStore,
  redisIdempotencyStore,
} from './adapters/redis/idempotency.js';
export { redisIdempotencyScripts } from './adapters/redis/idempotency-scripts.js';
export * from './adapters/redis/index.js';
export type { RedisLockAdapterOptions } from './adapters/redis/lock.js';
export {
  REDIS_LOCK_ADAPTER_DEFAULTS,
  RedisLockAdapter,
  redisLockAdapter,
  redisLockScripts,
} from './adapters/redis/lock.js';
export type { RedisRateLimitAdapterOptions } from './adapters/redis/rate-limit.js';
export {
  REDIS_RATE_LIMIT_ADAPTER_DEFAULTS,
  RedisRateLimitAdapter,
  redisRateLimitAdapter,
} from './adapters/redis/rate-limit.js';
export { redisRateLimitScripts } from './adapters/redis/rate-limit-script.js';
export type { RedlockAdapterOptions } from './adapters/redis/redlock.js';
export { REDLOCK_ADAPTER_DEFAULTS, RedlockAdapter, redlockAdapter } from './adapters/redis/redlock.js';
