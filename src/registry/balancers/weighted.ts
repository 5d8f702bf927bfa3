import { refuseExtraArguments } from '../argument-checks.js';
import { type Balancer, type BalancerCandidate, firstAllowed } from './balancer.js';

/**
 * Weighted random: each candidate is picked with probability proportional
 * to its registered weight. Cumulative weights are built once per change
 * of the candidate list, so a pick is one random draw and a binary search:
 * O(log n).
 *
 * @example
 * ```ts
 * const weighted = new ServiceRegistry({ balancer: weightedBalancer });
 * await weighted.register('pricing', 'http://10.0.0.7:4001', { weight: 3 }); // 3x the traffic
 * ```
 */
export class WeightedBalancer implements Balancer {
  readonly name = 'weighted';
  #cumulative: Float64Array = new Float64Array(0);
  #source: readonly BalancerCandidate[] | undefined;

  pick(
    candidates: readonly BalancerCandidate[],
    exclude?: ReadonlySet<string>,
  ): BalancerCandidate | undefined {
    if (this.#source !== candidates || this.#cumulative.length !== candidates.length) this.reset(candidates);
    const cumulative = this.#cumulative;
    const total = cumulative[cumulative.length - 1]!;
    const target = Math.random() * total;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulative[mid]! > target) hi = mid;
      else lo = mid + 1;
    }
    const c = candidates[lo]!;
    if (exclude === undefined || exclude.size === 0 || !exclude.has(c.instance.id)) return c;
    return firstAllowed(candidates, exclude, lo + 1);
  }

  reset(candidates: readonly BalancerCandidate[]): void {
    const cumulative = new Float64Array(candidates.length);
    let sum = 0;
    for (let i = 0; i < candidates.length; i++) {
      sum += candidates[i]!.weight;
      cumulative[i] = sum;
    }
    this.#cumulative = cumulative;
    this.#source = candidates;
  }
}

/**
 * Makes a {@link WeightedBalancer}.
 *
 * @example
 * ```ts
 * const registry = new ServiceRegistry({ balancer: weightedBalancer });
 * ```
 */
export function weightedBalancer(): WeightedBalancer;
export function weightedBalancer(...extra: unknown[]): WeightedBalancer {
  refuseExtraArguments('weightedBalancer()', extra);
  return new WeightedBalancer();
}
