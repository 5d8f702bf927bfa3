import { describe, expect, it } from 'vitest';
import { randomBalancer } from '../../../../src/registry/balancers/random.js';
import { candidates, counts, excludeContract } from './helpers.js';

describe('random balancer', () => {
  excludeContract(randomBalancer);

  it('random spreads picks over every instance', () => {
    const b = randomBalancer();
    const list = candidates(4);
    const m = counts(() => b.pick(list), 8000);
    expect(m.size).toBe(4);
    for (const n of m.values()) expect(n).toBeGreaterThan(1500);
  });
});
