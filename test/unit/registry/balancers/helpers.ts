/** What the balancer tests share: candidate lists, pick counts, and the exclude contract every balancer keeps. */
import { expect, it } from 'vitest';
import type { BalancerCandidate, BalancerFactory } from '../../../../src/registry/balancers/balancer.js';

export function candidates(
  n: number,
  extra: (i: number) => Partial<BalancerCandidate> = () => ({}),
): BalancerCandidate[] {
  return Array.from({ length: n }, (_, i) => {
    const id = `http://127.0.${i >> 8}.${i & 255}:80/`;
    return {
      instance: { service: 's', id, url: id, weight: 1, metadata: {}, registeredAt: 0 },
      weight: 1,
      outstanding: 0,
      latencyMs: undefined,
      ...extra(i),
    };
  });
}

export function counts(pick: () => BalancerCandidate | undefined, draws: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < draws; i++) {
    const c = pick();
    const id = c?.instance.id ?? 'none';
    m.set(id, (m.get(id) ?? 0) + 1);
  }
  return m;
}

/** Every balancer never picks an excluded id, and gives undefined when all are excluded. */
export function excludeContract(factory: BalancerFactory): void {
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
