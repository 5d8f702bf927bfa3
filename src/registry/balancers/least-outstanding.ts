import type { Balancer, BalancerCandidate } from './balancer.js';

/**
 * The candidate with the fewest calls in flight from this process, relative
 * to its weight; ties broken at random. Scans every candidate: O(n). Prefer
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
    let best: BalancerCandidate | undefined;
    let bestLoad = Number.POSITIVE_INFINITY;
    let ties = 0;
    const checkExclude = exclude !== undefined && exclude.size > 0;
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i]!;
      if (checkExclude && exclude.has(c.instance.id)) continue;
      const load = c.outstanding / c.weight;
      if (load < bestLoad) {
        best = c;
        bestLoad = load;
        ties = 1;
      } else if (load === bestLoad) {
        // Reservoir sampling over the ties: each tied candidate equally likely.
        ties++;
        if (Math.random() * ties < 1) best = c;
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
export function leastOutstandingBalancer(): LeastOutstandingBalancer {
  return new LeastOutstandingBalancer();
}
