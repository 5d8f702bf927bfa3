export { Idempotency } from './idempotency.js';
export type {
  IdempotencyConflictEvent,
  IdempotencyErrorEvent,
  IdempotencyEvents,
  IdempotencyKeyEvent,
  IdempotencyReleasedEvent,
  IdempotencySource,
} from './idempotency-events.js';
export type { IdempotencyOptions, IdempotencyRunOptions } from './idempotency-options.js';
export { IDEMPOTENCY_DEFAULTS } from './idempotency-options.js';
export type { IdempotentOptions } from './idempotent.js';
export { idempotent } from './idempotent.js';
