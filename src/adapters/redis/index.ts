export type { RedisCacheAdapterOptions } from './cache.js';
export { REDIS_CACHE_ADAPTER_DEFAULTS, RedisCacheAdapter, redisCacheAdapter } from './cache.js';
export type { RedisClient, RedisConnection } from './connection.js';
export { isCluster, RedisConnectionHandle } from './connection.js';
export type { RedisJwtDenylistOptions } from './jwt-denylist.js';
export { RedisJwtDenylist, redisJwtDenylist } from './jwt-denylist.js';
export { escapeGlob, taggedKey, validatePrefix } from './keys.js';
export type { RedisStreamsQueueAdapterCloseOptions, RedisStreamsQueueAdapterOptions } from './queue.js';
export {
  REDIS_STREAMS_QUEUE_DEFAULTS,
  RedisStreamsQueueAdapter,
  redisStreamsQueueAdapter,
} from './queue.js';
export type { RedisRegistryAdapterOptions } from './registry.js';
export { RedisRegistryAdapter, redisRegistryAdapter } from './registry.js';
export type { RedisScriptDefinition, ScriptArg } from './scripts.js';
export { defineRedisScript, isNoScript, RedisScript } from './scripts.js';
export type { RedisSessionAdapterOptions } from './session.js';
export { RedisSessionAdapter, redisSessionAdapter } from './session.js';
