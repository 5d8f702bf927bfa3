import { afterEach, vi } from 'vitest';
import type { PerformanceMonitorOptions } from '../../../src/monitor/monitor-options.js';
import { PerformanceMonitor } from '../../../src/monitor/performance-monitor.js';

/** The monitor unit tests' fixture: monitors on a hand-moved clock, closed after each test. */
const monitors: PerformanceMonitor[] = [];

/** A monitor without the event-loop sampler, on a clock the test moves (`clock.t += ms`). */
export function make(options: PerformanceMonitorOptions = {}): {
  monitor: PerformanceMonitor;
  clock: { t: number };
} {
  const clock = { t: 1000 };
  const monitor = new PerformanceMonitor({
    eventLoop: false,
    ...(options.now === undefined ? { clock: { now: () => clock.t, monotonic: () => clock.t } } : {}),
    ...options,
  });
  monitors.push(monitor);
  return { monitor, clock };
}

afterEach(async () => {
  vi.useRealTimers();
  for (const m of monitors.splice(0)) await m.close();
});

/** One request of `ms` on the monitor's clock, recorded with `status` and `labels`. */
export function request(
  monitor: PerformanceMonitor,
  clock: { t: number },
  ms: number,
  status = 200,
  labels = { method: 'GET', route: '/users/:id' },
) {
  const start = monitor.recordRequest();
  clock.t += ms;
  monitor.recordResponse(start, status, labels);
}
