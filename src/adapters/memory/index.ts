export type { MemoryCacheAdapterOptions } from './memory-cache-adapter.js';
export {
  MEMORY_CACHE_ADAPTER_DEFAULTS,
  MemoryCacheAdapter,
  memoryCacheAdapter,
} from './memory-cache-adapter.js';
