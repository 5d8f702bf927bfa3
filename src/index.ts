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

export type { MemoryJwtDenylistOptions, MemorySessionAdapterOptions } from './adapters/memory/index.js';
export * from './adapters/memory/index.js';
export {
  MemoryJwtDenylist,
  MemorySessionAdapter,
  memoryJwtDenylist,
  memorySessionAdapter,
} from './adapters/memory/index.js';
export type { MemoryIdempotencyStoreOptions } from './adapters/memory/memory-idempotency-store.js';
export {
  MEMORY_IDEMPOTENCY_STORE_DEFAULTS,
  MemoryIdempotencyStore,
  memoryIdempotencyStore,
} from './adapters/memory/memory-idempotency-store.js';
export type { MemoryLockAdapterOptions } from './adapters/memory/memory-lock-adapter.js';
export { MemoryLockAdapter, memoryLockAdapter } from './adapters/memory/memory-lock-adapter.js';
export type { MemoryQueueAdapterOptions } from './adapters/memory/memory-queue-adapter.js';
export { MemoryQueueAdapter, memoryQueueAdapter } from './adapters/memory/memory-queue-adapter.js';
export type { MemoryRateLimitAdapterOptions } from './adapters/memory/memory-rate-limit-adapter.js';
export {
  MEMORY_RATE_LIMIT_ADAPTER_DEFAULTS,
  MemoryRateLimitAdapter,
  memoryRateLimitAdapter,
} from './adapters/memory/memory-rate-limit-adapter.js';
export type { MemoryRegistryAdapterOptions } from './adapters/memory/registry.js';
export { MemoryRegistryAdapter, memoryRegistryAdapter } from './adapters/memory/registry.js';
export * from './auth/index.js';
export * from './cache/index.js';
export * from './client/index.js';
export type {
  CacheAdapter,
  CacheAdapterClearOptions,
  CacheAdapterEntry,
  CacheAdapterIncrementOptions,
  CacheAdapterSetOptions,
  CacheAdapterSubscribeOptions,
} from './contracts/cache.js';
export type {
  CacheEventSource,
  ClientEventSource,
  EventSource,
  EventSourceLike,
} from './contracts/event-source.js';
export type {
  IdempotencyClaimRequest,
  IdempotencyClaimResult,
  IdempotencyCompleteRequest,
  IdempotencyReleaseRequest,
  IdempotencyStore,
} from './contracts/idempotency.js';
export type { JwtDenylistAdapter } from './contracts/jwt-denylist.js';
export type {
  LockAcquireRequest,
  LockAcquireResult,
  LockAdapter,
  LockExtendRequest,
  LockExtendResult,
  LockOwnerRequest,
} from './contracts/lock.js';
export type {
  QueueAdapter,
  QueueAdapterConsumeOptions,
  QueueAdapterPublishOptions,
  QueueAdapterSubscription,
  QueueConnectionState,
  QueueDelivery,
  QueueOutgoingMessage,
  QueueSubscription,
} from './contracts/queue.js';
export { failuresFromHeader, MAX_FAILURES_HEADER, QUEUE_HEADERS } from './contracts/queue.js';
export type {
  RateLimitAdapter,
  RateLimitAdapterResult,
  RateLimitAlgorithm,
  RateLimitCostRequest,
  RateLimitRequest,
  RateLimitRule,
  RateLimitRuleState,
} from './contracts/rate-limit.js';
export type {
  RegistryAdapter,
  RegistryChange,
  RegistryHeartbeatResult,
  RegistryLease,
  RegistryLeaseOptions,
  RegistryListResult,
  RegistryRecord,
  RegistryRegisterResult,
} from './contracts/registry.js';
export type {
  SessionAdapter,
  SessionMoveResult,
  SessionRecord,
  SessionTouchOptions,
  SessionUpdateInput,
  SessionUpdateResult,
} from './contracts/session.js';
export type {
  AttemptResult,
  CallOutcome,
  UpstreamInstance,
  UpstreamPickOptions,
  UpstreamSource,
} from './contracts/upstream.js';
export { isFailureOutcome } from './contracts/upstream.js';
export * from './errors.js';
export * from './idempotency/index.js';
export * from './lifecycle/index.js';
export * from './lock/index.js';
export * from './monitor/index.js';
export * from './queue/index.js';
export * from './rate-limit/index.js';
export * from './registry/index.js';
export * from './resilience/index.js';
export { jsonSerializer } from './serializer.js';
export * from './session/index.js';
export * from './telemetry/index.js';
export type { BaseOptions, Clock, LogFields, Logger, Serializer, Subscription } from './types.js';
export { noopLogger, systemClock } from './types.js';
