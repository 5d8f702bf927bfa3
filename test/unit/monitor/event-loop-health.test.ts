import { describe, expect, it } from 'vitest';
import { make } from './monitor-fixture.js';

describe('event-loop health', () => {
  it('measures the real event loop when enabled', async () => {
    const { monitor } = make({ eventLoop: true, eventLoopResolutionMs: 10 });
    await new Promise((r) => setTimeout(r, 60));
    const blockUntil = performance.now() + 80;
    while (performance.now() < blockUntil) {
      // block the loop so the delay monitor sees it
    }
    await new Promise((r) => setTimeout(r, 60));
    const { eventLoop } = monitor.getStats();
    expect(eventLoop.delayP50Ms).toBeGreaterThanOrEqual(0);
    expect(eventLoop.delayMaxMs).toBeGreaterThanOrEqual(60);
    expect(eventLoop.delayMaxMs).toBeGreaterThanOrEqual(eventLoop.delayP99Ms!);
    expect(eventLoop.utilization).toBeGreaterThanOrEqual(0);
    expect(eventLoop.utilization).toBeLessThanOrEqual(1);
    expect(await monitor.metrics()).toMatch(/nodejs_eventloop_lag_p99_seconds \d/);
  });
});
