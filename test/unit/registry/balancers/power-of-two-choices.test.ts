import { describe, expect, it } from 'vitest';
import { powerOfTwoChoicesBalancer } from '../../../../src/registry/balancers/power-of-two-choices.js';
import { candidates, counts, excludeContract } from './helpers.js';

describe('power-of-two-choices balancer', () => {
  excludeContract(powerOfTwoChoicesBalancer);

  it('power-of-two-choices takes the cheaper of two: fewer outstanding, lower latency', () => {
    const b = powerOfTwoChoicesBalancer();
    const two = candidates(2, (i) => ({ latencyMs: [200, 5][i]! }));
    for (let i = 0; i < 100; i++) expect(b.pick(two)).toBe(two[1]);
    const busy = candidates(2, (i) => ({ outstanding: [0, 9][i]!, latencyMs: 10 }));
    for (let i = 0; i < 100; i++) expect(b.pick(busy)).toBe(busy[0]);
    // With ten instances and one slow one, the slow one only wins when paired with itself: never.
    const ten = candidates(10, (i) => ({ latencyMs: i === 3 ? 200 : 5 }));
    const m = counts(() => b.pick(ten), 5000);
    expect(m.get(ten[3]!.instance.id) ?? 0).toBe(0);
    expect(m.size).toBe(9);
  });
});
