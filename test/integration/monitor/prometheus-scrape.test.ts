import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { PerformanceMonitor } from '../../../src/monitor/performance-monitor.js';
import { startPrometheus } from '../../helpers/prometheus-server.js';
import { histogramQuantile, parseSamples } from '../../helpers/prometheus-text.js';

describe('a real Prometheus server scraping the middleware', () => {
  it('ingests the histogram and computes the expected histogram_quantile', async () => {
    const monitor = new PerformanceMonitor();
    const metrics = monitor.handler();
    const track = monitor.middleware({ route: () => '/work/:ms' });
    const server = http.createServer((req, res) => {
      if (req.url === '/metrics') return metrics(req, res);
      track(req, res);
      const ms = Number(req.url?.split('/')[2] ?? 0);
      setTimeout(() => res.end('done'), ms);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const prometheus = await startPrometheus([`127.0.0.1:${port}`]);
    try {
      // 30 fast requests and 10 slow ones, so p50 and p90 fall in different buckets.
      const delays = [...Array(30).fill(2), ...Array(10).fill(120)];
      await Promise.all(
        delays.map((ms) => fetch(`http://127.0.0.1:${port}/work/${ms}`).then((r) => r.text())),
      );

      // Wait until Prometheus has scraped all 40 requests.
      const countExpr = 'sum(http_request_duration_seconds_count{route="/work/:ms"})';
      const deadline = Date.now() + 30_000;
      for (;;) {
        const r = await prometheus.query(countExpr);
        if (r.length === 1 && Number(r[0]!.value[1]) === 40) break;
        if (Date.now() > deadline) throw new Error(`prometheus never saw 40 requests: ${JSON.stringify(r)}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }

      // The same text Prometheus ingested (no request recorded since).
      const samples = parseSamples(await monitor.metrics()).filter(
        (s) => s.name === 'http_request_duration_seconds_bucket' && s.labels.route === '/work/:ms',
      );
      const buckets = samples.map((s) => ({
        le: s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le),
        count: s.value,
      }));
      const series = monitor.bind({ method: 'GET', route: '/work/:ms', status: 200 }).histogram;
      expect(series.count).toBe(40);
      for (const q of [0.5, 0.9, 0.99]) {
        const r = await prometheus.query(
          `histogram_quantile(${q}, sum by (le) (http_request_duration_seconds_bucket{route="/work/:ms"}))`,
        );
        expect(r).toHaveLength(1);
        const fromPrometheus = Number(r[0]!.value[1]);
        const expected = histogramQuantile(q, buckets);
        expect(Math.abs(fromPrometheus - expected) / expected).toBeLessThan(1e-9);
        // And it lands in the bucket that holds the true quantile. We know that
        // quantile through our own estimate (relative error ≤ 1%), so the true
        // value lies in [estimate / 1.01, estimate / 0.99]: a value just above a
        // bucket boundary may be estimated just below it, and the reverse.
        // Prometheus takes the sample at rank q * count (1-based, rounded up); our
        // quantile(q) takes rank floor(q * (count - 1)): ask for the same sample.
        const index = Math.max(0, Math.ceil(q * series.count) - 1);
        const estimate = series.quantile(index / (series.count - 1)) / 1000;
        const sorted = buckets.map((b) => b.le).sort((a, b) => a - b);
        const upper = sorted.find((le) => le >= estimate / 0.99)!;
        const lower = [...sorted].reverse().find((le) => le < estimate / 1.01) ?? 0;
        expect(fromPrometheus).toBeGreaterThanOrEqual(lower);
        expect(fromPrometheus).toBeLessThanOrEqual(upper);
      }
      const p50 = Number(
        (
          await prometheus.query(
            'histogram_quantile(0.5, sum by (le) (http_request_duration_seconds_bucket{route="/work/:ms"}))',
          )
        )[0]!.value[1],
      );
      const p99 = Number(
        (
          await prometheus.query(
            'histogram_quantile(0.99, sum by (le) (http_request_duration_seconds_bucket{route="/work/:ms"}))',
          )
        )[0]!.value[1],
      );
      // The slow requests wait at least 120 ms: p99 is in a bucket above 0.1 s,
      // whatever the load on the machine adds; p50 cannot exceed it.
      expect(p99).toBeGreaterThanOrEqual(0.1);
      expect(p50).toBeLessThanOrEqual(p99);
    } finally {
      await prometheus.stop();
      server.closeAllConnections();
      server.close();
      await monitor.close();
    }
  }, 60_000);
});
