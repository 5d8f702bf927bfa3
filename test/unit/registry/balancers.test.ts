import { describe, expect, it } from 'vitest';
import type { BalancerCandidate } from '../../../src/registry/balancers/balancer.js';
import { leastOutstandingBalancer } from '../../../src/registry/balancers/least-outstanding.js';
import { powerOfTwoChoicesBalancer } from '../../../src/registry/balancers/power-of-two-choices.js';
import { randomBalancer } from '../../../src/registry/balancers/random.js';
import { roundRobinBalancer } from '../../../src/registry/balancers/round-robin.js';
import { weightedBalancer } from '../../../src/registry/balancers/weighted.js';

function candidates(
  n: number,
  extra: (i: number) => Partial<BalancerCandidate> = () => ({}),
): BalancerCandidate[] {
  return Array.from({ length: n }, (_, i) => {
    const id = `http://10.0.0.${i}:80/`;
    return {
      instance: { service: 's', id, url: id, weight: 1, metadata: {}, registeredAt: 0 },
      weight: 1,
      outstanding: 0,
      latencyMs: undefined,
      ...extra(i),
    };
  });
}

function counts(pick: () => BalancerCandidate | undefined, draws: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < draws; i++) {
    const c = pick();
    const id = c?.instance.id ?? 'none';
    m.set(id, (m.get(id) ?? 0) + 1);
  }
  return m;
}

const all = [
  roundRobinBalancer,
  randomBalancer,
  leastOutstandingBalancer,
  powerOfTwoChoicesBalancer,
  weightedBalancer,
];

describe('balancers', () => {
  for (const factory of all) {
    it(`${factory.name} never picks an excluded id, and gives undefined when all are excluded`, () => {
      const b = factory();
      const list = candidates(5);
      b.reset(list);
      const exclude = new Set([list[0]!.instance.id, list[2]!.instance.id, list[4]!.instance.id]);
      for (let i = 0; i < 500; i++) {
        const c = b.pick(list, exclude);
        expect(c).toBeDefined();
        expect(exclude.has(c!.instance.id)).toBe(false);
      }
      expect(b.pick(list, new Set(list.map((c) => c.instance.id)))).toBeUndefined();
      expect(b.pick(list.slice(0, 1))?.instance.id).toBe(list[0]!.instance.id);
    });
  }

  it('round-robin visits each instance once per cycle, in order', () => {
    const b = roundRobinBalancer();
    const list = candidates(7);
    b.reset(list);
    const first = list.indexOf(b.pick(list)!);
    for (let i = 1; i < 21; i++) expect(b.pick(list)).toBe(list[(first + i) % 7]);
  });

  it('random spreads picks over every instance', () => {
    const b = randomBalancer();
    const list = candidates(4);
    const m = counts(() => b.pick(list), 8000);
    expect(m.size).toBe(4);
    for (const n of m.values()) expect(n).toBeGreaterThan(1500);
  });

  it('least-outstanding picks the least loaded relative to weight, and spreads ties', () => {
    const b = leastOutstandingBalancer();
    const list = candidates(4, (i) => ({ outstanding: [5, 2, 7, 2][i]! }));
    const m = counts(() => b.pick(list), 2000);
    expect([...m.keys()].sort()).toEqual([list[1]!.instance.id, list[3]!.instance.id]);
    expect(m.get(list[1]!.instance.id)!).toBeGreaterThan(700);
    const weighted = candidates(2, (i) => ({ outstanding: [4, 6][i]!, weight: [1, 3][i]! }));
    expect(b.pick(weighted)).toBe(weighted[1]);
  });

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
