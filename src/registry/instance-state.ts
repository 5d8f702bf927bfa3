import type { BalancerCandidate } from './balancers/balancer.js';
import type { ServiceInstance } from './service-instance.js';

/**
 * @internal What this process knows of one instance in a service's view:
 * its lease, its load and latency (what balancers read), its health-check
 * counters, its ejection record and its slow-start ramp. One mutable object
 * per instance, kept for as long as the instance stays in the view, so the
 * balancers, outlier detection and health rounds all see the same numbers.
 *
 * Times: `expiresAt` is this process's wall clock (`clock.now()`, the
 * store's expiry moved by the view's offset); every other time is the
 * monotonic clock (`clock.monotonic()`).
 *
 * @example
 * ```ts
 * const state = new InstanceState(createServiceInstance(record), lease.expiresAt + offset);
 * state.startWarmUp(clock.monotonic(), 30_000);
 * ```
 */
export class InstanceState implements BalancerCandidate {
  instance: ServiceInstance;
  weight: number;
  outstanding = 0;
  latencyMs: number | undefined = undefined;
  /** Lease end in this process's wall clock. */
  expiresAt: number;
  healthy = true;
  passes = 0;
  fails = 0;
  warmFrom = 0;
  warmUntil = 0;
  consecutiveFailures = 0;
  /** Monotonic time of the last latency sample (decay starts after it). */
  sampledAt = 0;
  ejectedUntil = 0;
  ejections = 0;
  lastEjectionEnd = 0;

  constructor(instance: ServiceInstance, expiresAt: number) {
    this.instance = instance;
    this.weight = instance.weight;
    this.expiresAt = expiresAt;
  }

  /**
   * Starts the slow-start ramp of a re-admitted instance (after failing
   * health checks or an ejection): its share of picks grows from 10% to
   * 100% over `slowStartMs` (see `routing.ts`). `0` turns it off.
   */
  startWarmUp(now: number, slowStartMs: number): void {
    if (slowStartMs === 0) return;
    this.warmFrom = now;
    this.warmUntil = now + slowStartMs;
  }
}
