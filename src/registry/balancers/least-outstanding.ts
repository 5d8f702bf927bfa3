import { refuseExtraArguments } from '../argument-checks.js';
import type { Balancer, BalancerCandidate } from './balancer.js';

/**
 * The candidate with the fewest calls in flight from this process, relative
 * to its weight (`outstanding / weight`); ties are broken at random in
 * proportion to weight, so under light load (no call in flight, every load
 * 0) traffic follows the weights as {@link WeightedBalancer} does. Scans
 * every candidate: O(n). Prefer {@link PowerOfTwoChoicesBalancer} for large
 * fleets.
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
    const checkExclude = exclude !== undefined && exclude.size > 0;
    // First pass: the lowest load, the first candidate with it, and the
    // weight of all tied at it. (Equal rationals divide to equal doubles, so
    // ties are exact.)
    let best: BalancerCandidate | undefined;
    let bestLoad = Number.POSITIVE_INFINITY;
    let tiedWeight = 0;
    let ties = 0;
    for (const c of candidates) {
      const load = c.outstanding / c.weight;
      if (load > bestLoad || (checkExclude && exclude.has(c.instance.id))) continue;
      if (load < bestLoad) {
        best = c;
        bestLoad = load;
        tiedWeight = 0;
        ties = 0;
      }
      tiedWeight += c.weight;
      ties++;
    }
    if (ties < 2) return best;
    // Second pass, one random draw: each tied candidate wins in proportion to its weight.
    let target = Math.random() * tiedWeight;
    for (const c of candidates) {
      if (c.outstanding / c.weight !== bestLoad || (checkExclude && exclude.has(c.instance.id))) continue;
      best = c;
      target -= c.weight;
      if (target < 0) break;
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
