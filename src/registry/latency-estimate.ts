import type { Clock } from '../types.js';
import type { InstanceState } from './instance-state.js';

/** Weight of a sample above the estimate: a slow instance is avoided quickly. */
const EWMA_RISE = 0.5;
/** Weight of a sample below the estimate: a slow instance is trusted again gradually. */
const EWMA_FALL = 0.2;
/**
 * Latency estimates of instances that got no call for a second shrink by
 * this factor each second (half-life ~6.6 s), so one slow sample cannot keep
 * an instance out of power-of-two-choices forever: it gets tried again, and
 * a new sample raises the estimate again if it is still slow.
 */
const LATENCY_DECAY_PER_SECOND = 0.9;

/** @internal How often {@link decayLatencies} runs, ms. */
export const LATENCY_DECAY_INTERVAL_MS = 1_000;

/**
 * @internal Folds one reported latency into an instance's estimate (an
 * EWMA that rises fast and falls slowly); a sample that is not a finite
 * non-negative number is ignored.
 *
 * @example
 * ```ts
 * sampleLatency(state, result.latencyMs ?? elapsedMs, clock);
 * ```
 */
export function sampleLatency(state: InstanceState, sample: number, clock: Clock): void {
  if (Number.isFinite(sample) && sample >= 0) {
    state.sampledAt = clock.monotonic();
    const current = state.latencyMs;
    state.latencyMs =
      current === undefined
        ? sample
        : current + (sample > current ? EWMA_RISE : EWMA_FALL) * (sample - current);
  }
}

/**
 * @internal Shrinks the latency estimates of instances that got no call in
 * the last interval. Runs every {@link LATENCY_DECAY_INTERVAL_MS}.
 *
 * @example
 * ```ts
 * unrefInterval(() => decayLatencies(views.values(), clock), LATENCY_DECAY_INTERVAL_MS);
 * ```
 */
export function decayLatencies(
  views: Iterable<{ readonly states: ReadonlyMap<string, InstanceState> }>,
  clock: Clock,
): void {
  const quietSince = clock.monotonic() - LATENCY_DECAY_INTERVAL_MS;
  for (const view of views) {
    for (const state of view.states.values()) {
      if (state.latencyMs !== undefined && state.sampledAt <= quietSince) {
        state.latencyMs *= LATENCY_DECAY_PER_SECOND;
      }
    }
  }
}
