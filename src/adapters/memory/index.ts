export type { MemoryCacheAdapterOptions } from './memory-cache-adapter.js';
export {
  MEMORY_CACHE_ADAPTER_DEFAULTS,
  MemoryCacheAdapter,
  memoryCacheAdapter,
} from './memory-cache-adapter.js';
export type { MemoryJwtDenylistOptions } from './memory-jwt-denylist.js';
export { MemoryJwtDenylist, memoryJwtDenylist } from './memory-jwt-denylist.js';
export type { MemorySessionAdapterOptions } from './memory-session-adapter.js';
export { MemorySessionAdapter, memorySessionAdapter } from './memory-session-adapter.js';
