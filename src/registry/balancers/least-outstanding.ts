import { refuseExtraArguments } from '../argument-checks.js';
import type { Balancer, BalancerCandidate } from './balancer.js';

/**
 * The candidate with the fewest calls in flight from this process, relative
 * to its weight; ties broken at random (the scan starts at a random index). Scans every candidate: O(n). Prefer
 * {@link PowerOfTwoChoicesBalancer} for large fleets.
 *
 * @example
 * ```ts
 * const registry = new ServiceRegistry({ balancer: leastOutstandingBalancer });
 * ```
 */
export class LeastOutstandingBalancer implements Balancer {
  readonly name = 'least-outstanding';

  pick(
    candidates: readonly BalancerCandidate[],
    exclude?: ReadonlySet<string>,
  ): BalancerCandidate | undefined {
    const n = candidates.length;
    // Scanning from a random start and keeping the first minimum breaks ties at
    // random without a random draw per candidate.
    const start = Math.floor(Math.random() * n);
    const checkExclude = exclude !== undefined && exclude.size > 0;
    let best: BalancerCandidate | undefined;
    let bestLoad = Number.POSITIVE_INFINITY;
    for (let k = 0; k < n; k++) {
      let i = start + k;
      if (i >= n) i -= n;
      const c = candidates[i]!;
      const load = c.outstanding / c.weight;
      if (load < bestLoad && !(checkExclude && exclude.has(c.instance.id))) {
        best = c;
        bestLoad = load;
      }
    }
    return best;
  }

  reset(): void {}
}

/**
 * Makes a {@link LeastOutstandingBalancer}.
 *
 * @example
 * ```ts
 * const registry = new ServiceRegistry({ balancer: leastOutstandingBalancer });
 * ```
 */
export function leastOutstandingBalancer(): LeastOutstandingBalancer;
export function leastOutstandingBalancer(...extra: unknown[]): LeastOutstandingBalancer {
  refuseExtraArguments('leastOutstandingBalancer()', extra);
  return new LeastOutstandingBalancer();
}
