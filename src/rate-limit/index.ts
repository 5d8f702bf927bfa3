export type {
  ConsumeStep,
  RateLimitAlgorithmFunctions,
  RefundStep,
  RuleOutcome,
} from './algorithm.js';
export { RATE_LIMIT_ALGORITHMS } from './algorithms.js';
export type { FixedWindowState } from './fixed-window.js';
export type { GcraState } from './gcra.js';
export type { RateLimitConsumeOptions, RateLimitPeekOptions } from './rate-limit-call-options.js';
export type { RateLimitDecision, RateLimitPolicyState } from './rate-limit-decision.js';
export { rateLimitHeaders } from './rate-limit-headers.js';
export type { RateLimitIpKeyOptions } from './rate-limit-ip-key.js';
export { RATE_LIMIT_IPV6_SUBNET, rateLimitIpKey } from './rate-limit-ip-key.js';
export type {
  RateLimitAnswer,
  RateLimitMiddlewareOptions,
  RateLimitRequestFacts,
  RateLimitResponseLike,
  RateLimitResponseOutcome,
} from './rate-limit-middleware.js';
export { rateLimitHandler } from './rate-limit-middleware.js';
export { rateLimitNode } from './rate-limit-node.js';
export { RateLimiter } from './rate-limiter.js';
export type { RateLimiterEvents } from './rate-limiter-events.js';
export type { RateLimiterOptions, RateLimitOptions, RateLimitPolicy } from './rate-limiter-options.js';
export { RATE_LIMITER_DEFAULTS } from './rate-limiter-options.js';
export type { SlidingWindowState } from './sliding-window.js';
