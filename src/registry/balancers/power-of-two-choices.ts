import { refuseExtraArguments } from '../argument-checks.js';
import { type Balancer, type BalancerCandidate, firstAllowed } from './balancer.js';

/**
 * Power of two choices: draws two distinct candidates at random and takes
 * the cheaper, where cost is `(outstanding + 1) × latency ÷ weight` (latency
 * being the moving average of reported calls, decaying while an instance
 * gets none, so an instance slow once is tried again later). When either of the two has
 * no latency yet, fewer calls in flight wins (the unmeasured one on a tie,
 * so that it gets measured). O(1) per pick; a slow or overloaded instance
 * loses nearly every comparison, and wins again as soon as the others are
 * loaded enough to cost more. The default balancer.
 *
 * @example
 * ```ts
 * const registry = new ServiceRegistry({ balancer: powerOfTwoChoicesBalancer });
 * ```
 */
export class PowerOfTwoChoicesBalancer implements Balancer {
  readonly name = 'power-of-two-choices';

  pick(
    candidates: readonly BalancerCandidate[],
    exclude?: ReadonlySet<string>,
  ): BalancerCandidate | undefined {
    const n = candidates.length;
    if (n === 1) return firstAllowed(candidates, exclude, 0);
    const checkExclude = exclude !== undefined && exclude.size > 0;
    const i = Math.floor(Math.random() * n);
    let j = Math.floor(Math.random() * (n - 1));
    if (j >= i) j++;
    let a: BalancerCandidate | undefined = candidates[i]!;
    let b: BalancerCandidate | undefined = candidates[j]!;
    if (checkExclude) {
      if (exclude.has(a.instance.id)) a = undefined;
      if (exclude.has(b.instance.id)) b = undefined;
      if (a === undefined && b === undefined) return firstAllowed(candidates, exclude, i);
      if (a === undefined) return b;
      if (b === undefined) return a;
    }
    return cheaper(a!, b!);
  }

  reset(): void {}
}

function cheaper(a: BalancerCandidate, b: BalancerCandidate): BalancerCandidate {
  if (a.latencyMs === undefined || b.latencyMs === undefined) {
    // Without a latency for both, load alone decides; on a tie the unmeasured
    // one goes first, so that it gets measured. This keeps callers from piling
    // onto a newcomer that merely has no record yet.
    const la = a.outstanding / a.weight;
    const lb = b.outstanding / b.weight;
    if (la !== lb) return la < lb ? a : b;
    return a.latencyMs === undefined ? a : b;
  }
  const ca = ((a.outstanding + 1) * Math.max(a.latencyMs, 0.001)) / a.weight;
  const cb = ((b.outstanding + 1) * Math.max(b.latencyMs, 0.001)) / b.weight;
  return ca <= cb ? a : b;
}

/**
 * Makes a {@link PowerOfTwoChoicesBalancer}.
 *
 * @example
 * ```ts
 * const registry = new ServiceRegistry({ balancer: powerOfTwoChoicesBalancer });
 * ```
 */
export function powerOfTwoChoicesBalancer(): PowerOfTwoChoicesBalancer;
export function powerOfTwoChoicesBalancer(...extra: unknown[]): PowerOfTwoChoicesBalancer {
  refuseExtraArguments('powerOfTwoChoicesBalancer()', extra);
  return new PowerOfTwoChoicesBalancer();
}
