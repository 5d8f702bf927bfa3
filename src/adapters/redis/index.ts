export type { RedisCacheAdapterOptions } from './cache.js';
export { REDIS_CACHE_ADAPTER_DEFAULTS, RedisCacheAdapter, redisCacheAdapter } from './cache.js';
export type { RedisClient, RedisConnection } from './connection.js';
export { isCluster, RedisConnectionHandle } from './connection.js';
export { escapeGlob, taggedKey, validatePrefix } from './keys.js';
export type { RedisScriptDefinition, ScriptArg } from './scripts.js';
export { defineRedisScript, isNoScript, RedisScript } from './scripts.js';
