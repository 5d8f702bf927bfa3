export { DistributedLock } from './distributed-lock.js';
export type { AcquireOptions, DistributedLockOptions, WithLockOptions } from './distributed-lock-options.js';
export { DISTRIBUTED_LOCK_DEFAULTS } from './distributed-lock-options.js';
export type { DistributedSemaphoreOptions } from './distributed-semaphore.js';
export { DistributedSemaphore } from './distributed-semaphore.js';
export type { Lease } from './lease.js';
export { LeaseLock } from './lease-lock.js';
export type { LockEvents } from './lock-events.js';
