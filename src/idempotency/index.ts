export type { IdempotencyMiddlewareInput } from './http-idempotency.js';
export type { IdempotencyHttpOptions, IdempotencyRequestFacts } from './http-options.js';
export { IDEMPOTENCY_HTTP_DEFAULTS } from './http-options.js';
export type { IdempotencyProblem } from './http-problem.js';
export { IDEMPOTENCY_DRAFT_URL } from './http-problem.js';
export { Idempotency } from './idempotency.js';
export type {
  IdempotencyConflictEvent,
  IdempotencyErrorEvent,
  IdempotencyEvents,
  IdempotencyKeyEvent,
  IdempotencyReleasedEvent,
  IdempotencySource,
  IdempotencyStoredEvent,
} from './idempotency-events.js';
export type { IdempotencyNodeContext } from './idempotency-node.js';
export { idempotencyNode } from './idempotency-node.js';
export type { IdempotencyOptions, IdempotencyRunOptions } from './idempotency-options.js';
export { IDEMPOTENCY_DEFAULTS } from './idempotency-options.js';
export type { IdempotentOptions } from './idempotent.js';
export { idempotent } from './idempotent.js';
