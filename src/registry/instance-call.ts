import { CALL_OUTCOMES, type CallOutcome, isFailureOutcome } from '../contracts/upstream.js';
import { InvalidArgumentError } from '../errors.js';
import type { InstanceState } from './instance-state.js';
import { sampleLatency } from './latency-estimate.js';
import { recordCallOutcome } from './outlier-detection.js';
import type { RegistryContext } from './registry-context.js';
import type { ServiceInstance } from './service-instance.js';
import type { ServiceView } from './service-view.js';

export type { CallOutcome } from '../contracts/upstream.js';

/**
 * What {@link InstanceCall.end} is told.
 *
 * @example
 * ```ts
 * call.end({ outcome: res.status >= 500 ? 'server-error' : 'success' });
 * ```
 */
export interface CallResult {
  /** How the call ended. */
  outcome: CallOutcome;
  /** The call's latency, ms. @default the time since `startCall` */
  latencyMs?: number;
}

/**
 * A call in flight to one instance, from {@link ServiceRegistry.startCall}:
 * it counts as outstanding until {@link InstanceCall.end}.
 *
 * @example
 * ```ts
 * const call = registry.startCall('pricing', { exclude: tried });
 * try {
 *   const res = await fetch(`${call.instance}/quote`);
 *   call.end({ outcome: res.status >= 500 ? 'server-error' : 'success' });
 * } catch {
 *   call.end({ outcome: 'connect-error' });
 * }
 * ```
 */
export interface InstanceCall {
  /** The instance picked for this call. */
  readonly instance: ServiceInstance;
  /** Ends the call (idempotent): releases its outstanding slot and records the result. */
  end(result: CallResult): void;
}

/**
 * @internal Counts a call to `state` as outstanding until its `end`, which
 * releases the slot once and feeds the result to the latency estimate and
 * outlier detection.
 *
 * @example
 * ```ts
 * const call = beginCall(view, state, ctx);
 * call.end({ outcome: 'success', latencyMs: 12 });
 * ```
 */
export function beginCall(view: ServiceView, state: InstanceState, ctx: RegistryContext): InstanceCall {
  state.outstanding++;
  const clock = ctx.clock;
  const started = clock.monotonic();
  let ended = false;
  return {
    instance: state.instance,
    end: (result: CallResult) => {
      checkCallResult(result);
      if (ended) return;
      ended = true;
      state.outstanding--;
      recordCall(view, state, result, clock.monotonic() - started, ctx);
    },
  };
}

/**
 * A result that is not one would be recorded as something it is not (a junk
 * outcome as a success, a junk latency into the estimate): refused instead.
 */
function checkCallResult(result: unknown): asserts result is CallResult {
  if (typeof result !== 'object' || result === null || !CALL_OUTCOMES.has((result as CallResult).outcome)) {
    throw new InvalidArgumentError(
      `end() takes { outcome } with outcome one of ${[...CALL_OUTCOMES].join(', ')}`,
      {
        argument: 'result',
      },
    );
  }
  const latencyMs = (result as CallResult).latencyMs;
  if (
    latencyMs !== undefined &&
    !(typeof latencyMs === 'number' && Number.isFinite(latencyMs) && latencyMs >= 0)
  ) {
    throw new InvalidArgumentError('end(): latencyMs must be a finite number >= 0', {
      argument: 'result.latencyMs',
    });
  }
}

function recordCall(
  view: ServiceView,
  state: InstanceState,
  result: CallResult,
  elapsedMs: number,
  ctx: RegistryContext,
): void {
  const outcome = result.outcome;
  if (outcome === 'cancelled' || outcome === 'overloaded') return;
  if (outcome !== 'connect-error' && outcome !== 'connection-reset')
    sampleLatency(state, result.latencyMs ?? elapsedMs, ctx.clock);
  const outliers = ctx.settings.outliers;
  if (outliers === undefined) return;
  const failed = isFailureOutcome(outcome);
  const durationMs = recordCallOutcome(outliers, view.states, state, failed, ctx.clock);
  if (durationMs === 0) return;
  view.dirty = true;
  ctx.events.emit('ejection', { service: view.service, instance: state.instance, ejected: true, durationMs });
}
