import { describe, expect, it, vi } from 'vitest';
import { powerOfTwoChoicesBalancer } from '../../../src/registry/balancers/power-of-two-choices.js';
import { fleet, manualClock, url } from './helpers.js';

describe('latency estimates', () => {
  it('decay without new samples, so an instance that answered slowly once is tried again (power of two choices)', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const clock = manualClock();
      const registry = await fleet(3, { clock, balancer: powerOfTwoChoicesBalancer });
      // Instance 0 answers in 30 ms, the others in 2 ms.
      const call = () => {
        const c = registry.startCall('svc');
        c.end({ outcome: 'success', latencyMs: c.instance.id === url(0) ? 30 : 2 });
        return c.instance.id;
      };
      // Measure every instance (an unmeasured one wins against a measured one,
      // but two random picks out of three can leave one unmeasured for a while).
      const measured = new Set<string>();
      for (let i = 0; i < 100 && measured.size < 3; i++) measured.add(call());
      expect(measured.size).toBe(3);
      const perSecond: number[] = [];
      for (let second = 0; second < 40; second++) {
        clock.advance(500);
        let slow = 0;
        for (let i = 0; i < 20; i++) if (call() === url(0)) slow++;
        perSecond.push(slow);
        clock.advance(500);
        vi.advanceTimersByTime(1_000);
      }
      // At first the slow instance loses every comparison...
      expect(perSecond.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
      // ...but its estimate decays while it gets no calls, so it is tried again
      // (and each new slow answer pushes it back: probes, not a flood).
      const probes = perSecond.reduce((a, b) => a + b, 0);
      expect(probes).toBeGreaterThan(0);
      expect(probes).toBeLessThan(40);
    } finally {
      vi.useRealTimers();
    }
  });
});
