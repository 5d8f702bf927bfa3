import { PerformanceObserver } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../../src/monitor/latency-histogram.js';
import { PerformanceMonitor } from '../../../src/monitor/performance-monitor.js';

/**
 * A loop that allocated even one 16-byte object per record would fill the
 * young generation (at most 16 MB) several times over and trigger
 * several scavenges (48 MB over 3M records); a loop that allocates nothing
 * triggers none.
 */
async function gcsDuring(loop: () => void): Promise<number> {
  loop(); // warm up: let the JIT optimise the path first
  await new Promise((r) => setTimeout(r, 20));
  let gcs = 0;
  const observer = new PerformanceObserver((list) => {
    gcs += list.getEntries().length;
  });
  observer.observe({ entryTypes: ['gc'] });
  loop();
  await new Promise((r) => setTimeout(r, 50));
  observer.disconnect();
  return gcs;
}

// A stray scavenge from the test runner's own work may land in the window;
// an allocating loop triggers dozens (see the control below).
const GC_ALLOWANCE = 3;

const values = Float64Array.from({ length: 1024 }, (_, i) => 0.01 * (i + 1) ** 1.7);
const N = 3_000_000;

describe('recording allocates nothing', () => {
  it('control: a loop that allocates one small object per iteration triggers many collections', async () => {
    const sink: Array<{ i: number }> = [];
    const gcs = await gcsDuring(() => {
      for (let i = 0; i < N; i++) {
        const o = { i };
        if ((i & 0xfffff) === 0) sink.push(o);
      }
    });
    expect(sink.length).toBeGreaterThan(0);
    expect(gcs).toBeGreaterThan(GC_ALLOWANCE * 3);
  });

  it('LatencyHistogram.record', async () => {
    const h = new LatencyHistogram();
    const gcs = await gcsDuring(() => {
      for (let i = 0; i < N; i++) h.record(values[i & 1023]!);
    });
    expect(h.count).toBe(2 * N);
    expect(gcs).toBeLessThanOrEqual(GC_ALLOWANCE);
  });

  it('a pre-bound series of the monitor (histogram, window and totals)', async () => {
    const monitor = new PerformanceMonitor({ eventLoop: false });
    const series = monitor.bind({ method: 'GET', route: '/users/:id', status: 200 });
    const gcs = await gcsDuring(() => {
      for (let i = 0; i < N; i++) series.record(values[i & 1023]!);
    });
    expect(monitor.getStats().totalRequests).toBe(2 * N);
    expect(gcs).toBeLessThanOrEqual(GC_ALLOWANCE);
    await monitor.close();
  });
});
