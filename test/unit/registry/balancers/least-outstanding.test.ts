import { afterEach, describe, expect, it, vi } from 'vitest';
import { leastOutstandingBalancer } from '../../../../src/registry/balancers/least-outstanding.js';
import { seededRandom } from '../../../helpers/seeded-random.js';
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

  describe('ties follow the weights', () => {
    // A fixed seed: the shares below are reproducible, and each bound is far from the old even split.
    afterEach(() => {
      vi.restoreAllMocks();
    });

    it('with no call in flight (every load 0), picks in proportion to weight', () => {
      vi.spyOn(Math, 'random').mockImplementation(seededRandom(11));
      const b = leastOutstandingBalancer();
      const list = candidates(3, (i) => ({ weight: [1, 3, 6][i]! }));
      const m = counts(() => b.pick(list), 20_000);
      expect(m.get(list[0]!.instance.id)! / 20_000).toBeCloseTo(0.1, 1);
      expect(m.get(list[1]!.instance.id)! / 20_000).toBeCloseTo(0.3, 1);
      expect(m.get(list[2]!.instance.id)! / 20_000).toBeCloseTo(0.6, 1);
      // Weights 1 : 99, one call at a time: the light instance gets about 1%, not half.
      const skewed = candidates(2, (i) => ({ weight: [1, 99][i]! }));
      const light = counts(() => b.pick(skewed), 2_000).get(skewed[0]!.instance.id) ?? 0;
      expect(light).toBeLessThan(100);
    });

    it('ties at a load above 0 are broken by weight too; a lower load still always wins', () => {
      vi.spyOn(Math, 'random').mockImplementation(seededRandom(12));
      const b = leastOutstandingBalancer();
      // Loads 2/1 and 6/3 tie at 2; 1/1 would win outright.
      const tied = candidates(2, (i) => ({ outstanding: [2, 6][i]!, weight: [1, 3][i]! }));
      const m = counts(() => b.pick(tied), 8_000);
      expect(m.get(tied[1]!.instance.id)! / 8_000).toBeCloseTo(0.75, 1);
      const lower = candidates(3, (i) => ({ outstanding: [2, 6, 1][i]!, weight: [1, 3, 1][i]! }));
      expect(counts(() => b.pick(lower), 200).get(lower[2]!.instance.id)).toBe(200);
    });
  });
});
