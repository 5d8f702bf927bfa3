import { describe, expect, it } from 'vitest';
import { TypedEmitter } from '../../../src/internal/events.js';
import { PerformanceMonitor } from '../../../src/monitor/performance-monitor.js';
import { parseSamples } from '../../helpers/prometheus-text.js';
import { promtoolCheck } from '../../helpers/promtool.js';
import { seededRandom } from '../../helpers/seeded-random.js';

describe('Prometheus exposition', () => {
  it('passes promtool check metrics, hostile labels and overflow included', async () => {
    const monitor = new PerformanceMonitor({ maxSeries: 20 });
    try {
      const random = seededRandom(9);
      const routes = ['/users/:id', '/a"quoted"', '/back\\slash', '/new\nline', '/ünï/cødé', '/lone\ud800'];
      for (let i = 0; i < 2000; i++) {
        const start = monitor.recordRequest() - random() * 300;
        const status = [200, 201, 404, 500, 0, 1234][i % 6]!;
        monitor.recordResponse(start, status, {
          method: ['GET', 'POST', 'brew'][i % 3],
          route: routes[i % routes.length],
        });
      }
      for (let i = 0; i < 50; i++)
        monitor.recordResponse(monitor.recordRequest(), 200, { route: `/raw/${i}` });
      monitor.recordResponse('x' as never, 200);
      const events = new TypedEmitter<{ call: { ms: number; outcome: string }; retry: { n: number } }>();
      monitor.observe<{ call: { ms: number; outcome: string }; retry: { n: number } }>(
        events,
        'service-client',
        {
          call: { durationMs: (e) => e.ms, labels: (e) => ({ outcome: e.outcome, 'bad-name': 'x' }) },
          retry: { help: 'Retries\nwith a "newline" \\ in help' },
        },
      );
      events.emit('call', { ms: 12, outcome: 'ok' });
      events.emit('retry', { n: 1 });
      await new Promise((r) => setTimeout(r, 30));
      const text = await monitor.metrics();
      const { status, output } = promtoolCheck(text);
      expect(output).toBe('');
      expect(status).toBe(0);
      expect(text).toContain('route="__overflow__"');
      expect(text).toContain(
        // A label name that is not a Prometheus name is encoded (injectively), never merged with another.
        'scaleout_service_client_call_duration_seconds_bucket{U__bad_2d_name="x",outcome="ok",le=',
      );
    } finally {
      await monitor.close();
    }
  });

  it('label names that normalise alike (a-b, a_b), reserved and camelCase names, odd values: one valid exposition', async () => {
    const monitor = new PerformanceMonitor({ eventLoop: false });
    try {
      const events = new TypedEmitter<{ call: { ms: number }; hit: Record<string, never> }>();
      const labels = {
        'a-b': '1',
        a_b: '2',
        'a.b': '3',
        le: 'x',
        quantile: 'y',
        __name__: 'z',
        userId: 'camel',
        '1st': 'digit',
        '': 'empty',
        ünï: '"quoted" \\ back\nslash\r',
        U__a_2d_b: 'looks escaped',
      };
      monitor.observe<{ call: { ms: number }; hit: Record<string, never> }>(events, 'client', {
        call: { durationMs: (e) => e.ms, labels: () => labels },
        hit: { labels: () => labels },
      });
      events.emit('call', { ms: 3 });
      events.emit('hit', {});
      const text = await monitor.metrics();
      const { status, output } = promtoolCheck(text);
      expect(output).toBe('');
      expect(status).toBe(0);
      const line = text.split('\n').find((l) => l.startsWith('scaleout_client_hit_total{'))!;
      const names = [...line.matchAll(/([A-Za-z_][A-Za-z0-9_]*)="/g)].map((m) => m[1]);
      expect(names).toHaveLength(Object.keys(labels).length);
      expect(new Set(names).size).toBe(names.length);
      expect(names).toContain('a_b');
      expect(names).toContain('U__a_2d_b');
    } finally {
      await monitor.close();
    }
  });

  it('writes exact cumulative bucket counts, _sum and _count in seconds', async () => {
    const monitor = new PerformanceMonitor({ eventLoop: false, bucketsMs: [1, 10, 100] });
    try {
      const series = monitor.bind({ method: 'GET', route: '/x', status: 200 });
      const values = [0.5, 0.99, 1, 5, 9.9, 50, 99, 150, 2000];
      for (const v of values) series.record(v);
      const samples = parseSamples(await monitor.metrics()).filter((s) => s.labels.route === '/x');
      const buckets = samples.filter((s) => s.name === 'http_request_duration_seconds_bucket');
      expect(buckets).toHaveLength(4);
      for (const b of buckets) {
        const leMs = b.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(b.labels.le) * 1000;
        expect(b.value).toBe(values.filter((v) => v <= leMs).length);
      }
      // le bounds are internal bucket bounds at or just above the requested ones.
      const les = buckets.slice(0, 3).map((b) => Number(b.labels.le) * 1000);
      [1, 10, 100].forEach((want, i) => {
        expect(les[i]).toBeGreaterThanOrEqual(want);
        expect(les[i]! / want).toBeLessThan(1.019);
      });
      expect(buckets[3]!.labels.le).toBe('+Inf');
      expect(buckets[3]!.value).toBe(values.length);
      const sum = samples.find((s) => s.name === 'http_request_duration_seconds_sum')!;
      expect(sum.value).toBeCloseTo(values.reduce((a, b) => a + b, 0) / 1000, 9);
      expect(samples.find((s) => s.name === 'http_request_duration_seconds_count')!.value).toBe(
        values.length,
      );
    } finally {
      await monitor.close();
    }
  });

  it('slices a scrape of 10k series by its time budget, yielding between slices', async () => {
    // A clock that moves 1 ms per read makes the slicing deterministic: the
    // scrape reads it every 8 series, so a 4 ms slice holds 32 series.
    let t = 0;
    const monitor = new PerformanceMonitor({
      eventLoop: false,
      maxSeries: 20_000,
      now: () => (t += 1),
      scrapeSliceMs: 4,
    });
    try {
      for (let i = 0; i < 10_000; i++)
        monitor.bind({ method: 'GET', route: `/r/${i}`, status: 200 }).record(i % 300);
      let chunks = 0;
      let immediates = 0;
      let running = true;
      const spin = () => {
        immediates++;
        if (running) setImmediate(spin);
      };
      setImmediate(spin);
      const parts: Buffer[] = [];
      for await (const chunk of monitor.exposition()) {
        chunks++;
        parts.push(chunk);
      }
      running = false;
      const text = Buffer.concat(parts).toString('utf8');
      expect(text.match(/^http_request_duration_seconds_count\{/gm)).toHaveLength(10_000);
      expect(chunks).toBeGreaterThanOrEqual(10_000 / 32);
      // Other work ran between the slices.
      expect(immediates).toBeGreaterThanOrEqual(10_000 / 32 - 1);
    } finally {
      await monitor.close();
    }
  });

  it('a real scrape of 10k series keeps the event loop responsive and passes promtool', async () => {
    const monitor = new PerformanceMonitor({ eventLoop: false, maxSeries: 20_000 });
    try {
      const random = seededRandom(5);
      for (let i = 0; i < 10_000; i++) {
        const s = monitor.bind({ method: i % 2 ? 'GET' : 'POST', route: `/route/${i >> 1}`, status: 200 });
        for (let k = 0; k < 5; k++) s.record(random() * 500);
      }
      const gaps: number[] = [];
      let last = performance.now();
      const ticker = setInterval(() => {
        const now = performance.now();
        gaps.push(now - last);
        last = now;
      }, 1);
      let turns = 0;
      let spinning = true;
      const spin = () => {
        turns++;
        if (spinning) setImmediate(spin);
      };
      setImmediate(spin);
      const started = performance.now();
      const parts: Buffer[] = [];
      for await (const chunk of monitor.exposition()) parts.push(chunk);
      const total = performance.now() - started;
      clearInterval(ticker);
      spinning = false;
      const text = Buffer.concat(parts).toString('utf8');
      const worst = Math.max(...gaps);
      console.log(
        `scrape of 10k series: ${total.toFixed(0)} ms, ${turns} loop turns, worst gap ${worst.toFixed(1)} ms`,
      );
      // Each slice (4 ms budget) ends with a turn of the event loop; a
      // blocking scrape would give the spinner one turn in all. Wall-clock
      // gaps are only logged: on a shared machine they include preemption.
      expect(turns).toBeGreaterThanOrEqual(Math.min(5, total / 8));
      expect(text.match(/^http_request_duration_seconds_count\{/gm)).toHaveLength(10_000);
      const { status, output } = promtoolCheck(text);
      expect(output).toBe('');
      expect(status).toBe(0);
    } finally {
      await monitor.close();
    }
  });
});
