import { refuseExtraArguments } from '../argument-checks.js';
import { type Balancer, type BalancerCandidate, firstAllowed } from './balancer.js';

/**
 * Round-robin in O(1): a cursor over the candidate array, no shifting.
 * Ignores weights and load.
 *
 * @example
 * ```ts
 * const registry = new ServiceRegistry({ balancer: roundRobinBalancer });
 * ```
 */
export class RoundRobinBalancer implements Balancer {
  readonly name = 'round-robin';
  #cursor = 0;

  pick(
    candidates: readonly BalancerCandidate[],
    exclude?: ReadonlySet<string>,
  ): BalancerCandidate | undefined {
    const n = candidates.length;
    const start = this.#cursor % n;
    this.#cursor = start + 1;
    const c = candidates[start]!;
    if (exclude === undefined || exclude.size === 0 || !exclude.has(c.instance.id)) return c;
    return firstAllowed(candidates, exclude, start + 1);
  }

  reset(candidates: readonly BalancerCandidate[]): void {
    // Start somewhere random so that many processes do not hit the same instance in step.
    this.#cursor = candidates.length > 0 ? Math.floor(Math.random() * candidates.length) : 0;
  }
}

/**
 * Makes a {@link RoundRobinBalancer}.
 *
 * @example
 * ```ts
 * const registry = new ServiceRegistry({ balancer: roundRobinBalancer });
 * ```
 */
export function roundRobinBalancer(): RoundRobinBalancer;
export function roundRobinBalancer(...extra: unknown[]): RoundRobinBalancer {
  refuseExtraArguments('roundRobinBalancer()', extra);
  return new RoundRobinBalancer();
}
