/**
 * `scaleout/testing`: the conformance suites that every adapter of a scaleout
 * contract must pass. Run them against your own adapter with any test runner
 * that provides `describe`/`it` and hooks.
 *
 * @example
 * ```ts
 * import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from 'vitest';
 * import type { TestApi } from 'scaleout/testing';
 * const test: TestApi = { describe, it, beforeAll, afterAll, beforeEach, afterEach };
 * ```
 *
 * @module scaleout/testing
 */

export { cacheAdapterConformance } from './testing/cache-adapter-conformance.js';
export type { IdempotencyStoreConformanceOptions } from './testing/idempotency-conformance.js';
export { idempotencyStoreConformance } from './testing/idempotency-conformance.js';
export type { LockAdapterConformanceOptions } from './testing/lock-adapter-conformance.js';
export { lockAdapterConformance } from './testing/lock-adapter-conformance.js';
export type { QueueConformanceOptions } from './testing/queue-conformance.js';
export { queueAdapterConformance } from './testing/queue-conformance.js';
export type { RateLimitConformanceOptions } from './testing/rate-limit-conformance.js';
export { rateLimitAdapterConformance } from './testing/rate-limit-conformance.js';
export { registryAdapterConformance } from './testing/registry-conformance.js';
export type { SessionConformanceOptions } from './testing/session-conformance.js';
export { sessionAdapterConformance } from './testing/session-conformance.js';
export type { ConformanceOptions, TestApi } from './testing/test-api.js';
