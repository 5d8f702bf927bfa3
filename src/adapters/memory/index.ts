export type { MemorySessionAdapterOptions } from './memory-session-adapter.js';
export { MemorySessionAdapter, memorySessionAdapter } from './memory-session-adapter.js';
