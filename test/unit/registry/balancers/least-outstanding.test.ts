import { describe, expect, it } from 'vitest';
import { leastOutstandingBalancer } from '../../../../src/registry/balancers/least-outstanding.js';
import { candidates, counts, excludeContract } from './helpers.js';

describe('least-outstanding balancer', () => {
  excludeContract(leastOutstandingBalancer);

  it('least-outstanding picks the least loaded relative to weight, and spreads ties', () => {
    const b = leastOutstandingBalancer();
    const list = candidates(4, (i) => ({ outstanding: [5, 2, 7, 2][i]! }));
    const m = counts(() => b.pick(list), 2000);
    expect([...m.keys()].sort()).toEqual([list[1]!.instance.id, list[3]!.instance.id]);
    expect(m.get(list[1]!.instance.id)!).toBeGreaterThan(700);
    const weighted = candidates(2, (i) => ({ outstanding: [4, 6][i]!, weight: [1, 3][i]! }));
    expect(b.pick(weighted)).toBe(weighted[1]);
  });
});
