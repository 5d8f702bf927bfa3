import { describe, expect, it } from 'vitest';
import { roundRobinBalancer } from '../../../../src/registry/balancers/round-robin.js';
import { candidates, excludeContract } from './helpers.js';

describe('round-robin balancer', () => {
  excludeContract(roundRobinBalancer);

  it('round-robin visits each instance once per cycle, in order', () => {
    const b = roundRobinBalancer();
    const list = candidates(7);
    b.reset(list);
    const first = list.indexOf(b.pick(list)!);
    for (let i = 1; i < 21; i++) expect(b.pick(list)).toBe(list[(first + i) % 7]);
  });
});
