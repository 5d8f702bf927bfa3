import { describe, expect, it } from 'vitest';
import { weightedBalancer } from '../../../../src/registry/balancers/weighted.js';
import { candidates, counts, excludeContract } from './helpers.js';

describe('weighted balancer', () => {
  excludeContract(weightedBalancer);

  it('weighted picks in proportion to weight', () => {
    const b = weightedBalancer();
    const list = candidates(3, (i) => ({ weight: [1, 3, 6][i]! }));
    b.reset(list);
    const m = counts(() => b.pick(list), 20_000);
    expect(m.get(list[0]!.instance.id)! / 20_000).toBeCloseTo(0.1, 1);
    expect(m.get(list[1]!.instance.id)! / 20_000).toBeCloseTo(0.3, 1);
    expect(m.get(list[2]!.instance.id)! / 20_000).toBeCloseTo(0.6, 1);
  });
});
