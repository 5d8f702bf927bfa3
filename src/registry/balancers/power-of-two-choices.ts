import { type Balancer, type BalancerCandidate, firstAllowed } from './balancer.js';

/**
 * Power of two choices: draws two distinct candidates at random and takes
 * the cheaper, where cost is `(outstanding + 1) × latency ÷ weight` (latency
 * being the moving average of reported calls; an instance without
 * measurements costs its outstanding count only, so newcomers get tried).
 * O(1) per pick, and a slow or overloaded instance loses nearly every
 * comparison while still being sampled now and then. The default balancer.
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
    return cost(a!) <= cost(b!) ? a : b;
  }

  reset(): void {}
}

function cost(c: BalancerCandidate): number {
  const latency = c.latencyMs === undefined ? 1 : Math.max(c.latencyMs, 0.001);
  return ((c.outstanding + 1) * latency) / c.weight;
}

/**
 * Makes a {@link PowerOfTwoChoicesBalancer}.
 *
 * @example
 * ```ts
 * const registry = new ServiceRegistry({ balancer: powerOfTwoChoicesBalancer });
 * ```
 */
export function powerOfTwoChoicesBalancer(): PowerOfTwoChoicesBalancer {
  return new PowerOfTwoChoicesBalancer();
}
