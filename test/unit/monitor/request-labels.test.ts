import { describe, expect, it } from 'vitest';
import { make, request } from './monitor-fixture.js';

describe('request labels (PerformanceMonitor bad input)', () => {
  it('labels absurd status codes "invalid" and counts them as errors', async () => {
    const { monitor, clock } = make();
    for (const status of [0, -1, 99, 600, 1e9, 200.5, Number.NaN, '200' as never, null as never]) {
      request(monitor, clock, 1, status);
    }
    const s = monitor.getStats();
    expect(s.statusCodes).toEqual({ invalid: 9 });
    expect(s.errors).toBe(9);
    const text = await monitor.metrics();
    expect(text).toContain('status="invalid"');
  });

  it('normalises methods to a closed set', async () => {
    const { monitor, clock } = make();
    request(monitor, clock, 1, 200, { method: 'get', route: '/' });
    request(monitor, clock, 1, 200, { method: 'BREW\n', route: '/' });
    request(monitor, clock, 1, 200, { method: 42 as never, route: '/' });
    const text = await monitor.metrics();
    expect(text).toContain('method="GET",route="/",status="200"');
    expect(text.match(/method="OTHER",route="\/",status="200",le="\+Inf"\} 2/)).not.toBeNull();
    expect(text).not.toContain('BREW');
  });

  it('escapes quotes, backslashes and newlines in label values', async () => {
    const { monitor, clock } = make();
    request(monitor, clock, 1, 200, { method: 'GET', route: '/a"b\\c\nd' });
    request(monitor, clock, 1, 200, { method: 'GET', route: '/lone\ud800' });
    const text = await monitor.metrics();
    expect(text).toContain('route="/a\\"b\\\\c\\nd"');
    expect(text).toContain('route="/lone\ufffd"');
    for (const line of text.split('\n')) expect(line.includes('\r')).toBe(false);
  });

  it('truncates absurdly long route labels', async () => {
    const { monitor, clock } = make();
    request(monitor, clock, 1, 200, { method: 'GET', route: 'x'.repeat(10_000) });
    expect(Object.keys(monitor.getStats().routes)[0]).toHaveLength(200);
  });
});
