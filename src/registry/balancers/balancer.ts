import type { ServiceInstance } from '../service-instance.js';

/**
 * What a balancer sees of an instance: its load and latency as measured by
 * this process. Live objects: read them, never keep them.
 *
 * @example
 * ```ts
 * const cost = (c: BalancerCandidate) => (c.outstanding + 1) * (c.latencyMs ?? 0);
 * ```
 */
export interface BalancerCandidate {
  /** The instance. */
  readonly instance: ServiceInstance;
  /** The registered weight (> 0). */
  readonly weight: number;
  /** Calls in flight to it from this process. */
  readonly outstanding: number;
  /** Latency moving average in ms; `undefined` until a call has been reported. */
  readonly latencyMs: number | undefined;
}

/**
 * Picks one candidate for a call. One balancer serves one service (it may
 * keep state such as a cursor); the registry calls {@link Balancer.reset}
 * whenever the candidate list changes. `exclude` holds instance ids that
 * must not be picked (already tried by a retry). Returns `undefined` only
 * when every candidate is excluded.
 *
 * @example
 * ```ts
 * const firstFit: BalancerFactory = () => ({
 *   name: 'first',
 *   pick: (candidates, exclude) => candidates.find((c) => !exclude?.has(c.instance.id)),
 *   reset() {},
 * });
 * ```
 */
export interface Balancer {
  /** A short name for diagnostics. */
  readonly name: string;
  /** Picks a candidate not in `exclude`; `candidates` is never empty. */
  pick(
    candidates: readonly BalancerCandidate[],
    exclude?: ReadonlySet<string>,
  ): BalancerCandidate | undefined;
  /** The candidate list changed (membership, health, ejection). */
  reset(candidates: readonly BalancerCandidate[]): void;
}

/**
 * Makes a fresh balancer; the registry makes one per service.
 *
 * @example
 * ```ts
 * const registry = new ServiceRegistry({ balancer: roundRobinBalancer });
 * ```
 */
export type BalancerFactory = () => Balancer;

/**
 * The first candidate not in `exclude`, starting at `start` and wrapping.
 * Shared fallback of the balancers when their first choice is excluded.
 */
export function firstAllowed(
  candidates: readonly BalancerCandidate[],
  exclude: ReadonlySet<string> | undefined,
  start: number,
): BalancerCandidate | undefined {
  const n = candidates.length;
  for (let i = 0; i < n; i++) {
    const c = candidates[(start + i) % n]!;
    if (exclude === undefined || !exclude.has(c.instance.id)) return c;
  }
  return undefined;
}
