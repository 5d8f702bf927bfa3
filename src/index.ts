/**
 * `scaleout`: scalability primitives for Node.js services. This entry holds
 * the primitives, their in-memory adapters, the adapter contracts, errors and
 * shared types. It never loads ioredis or amqplib: Redis adapters live in
 * `scaleout/redis`, RabbitMQ adapters in `scaleout/amqp`.
 *
 * @example
 * ```ts
 * import { isScaleoutError } from 'scaleout';
 * ```
 *
 * @module scaleout
 */

export type { MemoryLockAdapterOptions } from './adapters/memory/memory-lock-adapter.js';
export { MemoryLockAdapter, memoryLockAdapter } from './adapters/memory/memory-lock-adapter.js';
export type {
  LockAcquireRequest,
  LockAcquireResult,
  LockAdapter,
  LockExtendRequest,
  LockExtendResult,
  LockOwnerRequest,
  LockReleaseSubscription,
} from './contracts/lock.js';
export * from './errors.js';
export { jsonSerializer } from './internal/serializer.js';
export * from './lock/index.js';
export type { Clock, LogFields, Logger, Serializer } from './types.js';
export { noopLogger, systemClock } from './types.js';
