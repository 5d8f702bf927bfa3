import { listenerChecker } from '../internal/validate.js';
import type { RateLimitDecision } from './rate-limit-decision.js';

/**
 * Events of a {@link RateLimiter}, with their payloads. (A type, not an
 * interface: it has no index signature, so a misspelt event name does not
 * compile.)
 *
 * @example
 * ```ts
 * limiter.on('error', ({ operation, error }) => log.warn('rate limiter', { operation, error: String(error) }));
 * limiter.on('fallback', () => alerts.raise('rate limits served in process'));
 * limiter.on('recovered', ({ downMs }) => alerts.clear(`adapter back after ${downMs} ms`));
 * ```
 */
export type RateLimiterEvents = {
  /**
   * An adapter call failed: an outage (`ConnectionError`, `TimeoutError`;
   * with `failOpen` the decision came from the insurance limiter), a
   * failed probe, or a data error (`CorruptDataError`, rejected to the
   * caller; it never switches to the insurance limiter).
   */
  error: {
    /** What failed. */
    operation: 'consume' | 'peek' | 'refund' | 'reset' | 'probe';
    /** The caller's key (without the limiter's name). */
    key: string;
    /** The error. */
    error: unknown;
  };
  /** The adapter was seen down: decisions now come from the in-process insurance limiter. */
  fallback: {
    /** The failure that switched. */
    error: unknown;
  };
  /** A probe answered: decisions come from the adapter again. */
  recovered: {
    /** How long decisions came from the insurance limiter, ms. */
    downMs: number;
  };
  /** A consume was denied. */
  denied: {
    /** The caller's key (without the limiter's name). */
    key: string;
    /** The decision. */
    decision: RateLimitDecision;
  };
};

const EVENT_NAMES: Record<keyof RateLimiterEvents, true> = {
  error: true,
  fallback: true,
  recovered: true,
  denied: true,
};

/** @internal Refuses an unknown event name or a listener that is not a function. */
export const checkListener = listenerChecker(Object.keys(EVENT_NAMES));
