export { DistributedCache } from './distributed-cache.js';
export type {
  CacheCircuitEvent,
  CacheErrorEvent,
  CacheFlushEvent,
  CacheHitEvent,
  CacheMissEvent,
  CacheRefreshEvent,
  CacheStaleEvent,
  DistributedCacheEvents,
} from './events.js';
export type {
  CacheEntryInput,
  CacheSetOptions,
  DistributedCacheOptions,
  GetOrSetOptions,
  Loader,
  LoaderContext,
} from './options.js';
export { DISTRIBUTED_CACHE_DEFAULTS } from './options.js';
