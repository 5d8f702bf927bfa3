export { DistributedLock } from './distributed-lock.js';
export type { DistributedLockOptions } from './distributed-lock-options.js';
export { DISTRIBUTED_LOCK_DEFAULTS } from './distributed-lock-options.js';
export type { DistributedSemaphoreOptions } from './distributed-semaphore.js';
export { DistributedSemaphore } from './distributed-semaphore.js';
export type { Lease } from './lease.js';
export { LeaseLock } from './lease-lock.js';
export type { AcquireOptions, LockEvents, WithLockOptions } from './lease-manager.js';
