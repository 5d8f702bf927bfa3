import { describe, expect, it, vi } from 'vitest';
import { InvalidArgumentError } from '../../../src/errors.js';
import { PerformanceMonitor } from '../../../src/monitor/performance-monitor.js';
import { make, request } from './monitor-fixture.js';

describe('PerformanceMonitor reporting', () => {
  it('reports to a callback and a logger on an interval, and stops on close', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] });
    const reports: number[] = [];
    const info = vi.fn();
    const { monitor, clock } = make({
      reportIntervalMs: 1000,
      onReport: (s) => reports.push(s.totalRequests),
      logger: { info },
    });
    request(monitor, clock, 3);
    vi.advanceTimersByTime(1000);
    expect(reports).toEqual([1]);
    expect(info).toHaveBeenCalledWith('performance stats', expect.objectContaining({ totalRequests: 1 }));
    vi.advanceTimersByTime(1000);
    expect(reports).toEqual([1, 1]);
    await monitor.close();
    vi.advanceTimersByTime(5000);
    expect(reports).toHaveLength(2);
  });

  it('survives a throwing report callback and tells the logger', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] });
    const error = vi.fn();
    make({
      reportIntervalMs: 10,
      onReport: () => {
        throw new Error('boom');
      },
      logger: { error },
    });
    vi.advanceTimersByTime(10);
    expect(error).toHaveBeenCalledWith('performance report failed', { error: 'Error: boom' });
  });

  it("emits 'report' with the stats on the same interval, until off()", async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] });
    const { monitor } = make({ reportIntervalMs: 1000 });
    const reports: unknown[] = [];
    const listener = (stats: unknown) => reports.push(stats);
    monitor.on('report', listener);
    vi.advanceTimersByTime(2000);
    expect(reports).toHaveLength(2);
    expect(reports[0]).toMatchObject({ totalRequests: 0, requestCount: 0 });
    monitor.off('report', listener);
    vi.advanceTimersByTime(1000);
    expect(reports).toHaveLength(2);
    const unsubscribe = monitor.on('report', listener);
    vi.advanceTimersByTime(1000);
    expect(reports).toHaveLength(3);
    unsubscribe();
    vi.advanceTimersByTime(1000);
    expect(reports).toHaveLength(3);
  });

  it('refuses an unknown event name or a listener that is not a function', () => {
    const { monitor } = make();
    expect(() => monitor.on('reports' as never, () => {})).toThrow(InvalidArgumentError);
    expect(() => monitor.on('report', 'x' as never)).toThrow(InvalidArgumentError);
    expect(() => monitor.off('load' as never, () => {})).toThrow(InvalidArgumentError);
  });
});

describe('PerformanceMonitor lifecycle', () => {
  it('close() runs once: every call gets the same promise; asyncDispose closes too', async () => {
    const { monitor } = make();
    const first = monitor.close();
    expect(monitor.close()).toBe(first);
    await first;
    const other = make().monitor;
    await other[Symbol.asyncDispose]();
    expect(other.close()).toBe(other.close());
  });

  it("reads the clock option's monotonic() for every duration", () => {
    let t = 5_000;
    const wall = vi.fn(() => 1_700_000_000_000);
    const { monitor } = make({ clock: { now: wall, monotonic: () => t } });
    const start = monitor.recordRequest();
    expect(start).toBe(5_000);
    t += 42;
    expect(monitor.recordResponse(start, 200)).toBe(42);
    expect(monitor.getStats().uptimeMs).toBe(42);
    expect(wall).not.toHaveBeenCalled();
  });

  it('still reads the deprecated now(), and refuses now with clock or a bad clock', () => {
    let t = 10;
    const { monitor } = make({ now: () => t });
    const start = monitor.recordRequest();
    t += 7;
    expect(monitor.recordResponse(start, 200)).toBe(7);
    const clock = { now: () => 0, monotonic: () => 0 };
    expect(() => new PerformanceMonitor({ clock, now: () => 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', option: 'now' }),
    );
    expect(() => new PerformanceMonitor({ clock: { now: () => 0 } as never })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', option: 'clock' }),
    );
  });
});
