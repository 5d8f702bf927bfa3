import { refuseExtraArguments } from '../argument-checks.js';
import { type Balancer, type BalancerCandidate, firstAllowed } from './balancer.js';

/**
 * Uniform random choice in O(1). Ignores weights and load.
 *
 * @example
 * ```ts
 * const registry = new ServiceRegistry({ balancer: randomBalancer });
 * ```
 */
export class RandomBalancer implements Balancer {
  readonly name = 'random';

  pick(
    candidates: readonly BalancerCandidate[],
    exclude?: ReadonlySet<string>,
  ): BalancerCandidate | undefined {
    const start = Math.floor(Math.random() * candidates.length);
    const c = candidates[start]!;
    if (exclude === undefined || exclude.size === 0 || !exclude.has(c.instance.id)) return c;
    return firstAllowed(candidates, exclude, start + 1);
  }

  reset(): void {}
}

/**
 * Makes a {@link RandomBalancer}.
 *
 * @example
 * ```ts
 * const registry = new ServiceRegistry({ balancer: randomBalancer });
 * ```
 */
export function randomBalancer(): RandomBalancer;
export function randomBalancer(...extra: unknown[]): RandomBalancer {
  refuseExtraArguments('randomBalancer()', extra);
  return new RandomBalancer();
}
