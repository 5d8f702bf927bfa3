import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PerformanceMonitor } from '../../../src/monitor/performance-monitor.js';
import { PROMETHEUS_CONTENT_TYPE } from '../../../src/monitor/prometheus-text.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(monitor: PerformanceMonitor): Promise<number> {
  const handler = monitor.handler();
  const server = http.createServer((req, res) => handler(req, res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return (server.address() as AddressInfo).port;
}

function get(port: number, options: http.RequestOptions = {}): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/metrics', ...options }, resolve);
    req.on('error', reject);
    req.end();
  });
}

describe('monitor.handler()', () => {
  it('streams a large exposition to a slow reader with back-pressure, complete and in order', async () => {
    const monitor = new PerformanceMonitor({ eventLoop: false, maxSeries: 5000 });
    cleanups.push(() => monitor.close());
    for (let i = 0; i < 3000; i++)
      monitor.bind({ method: 'GET', route: `/r/${i}`, status: 200 }).record(i % 97);
    const port = await serve(monitor);
    const res = await get(port);
    expect(res.headers['content-type']).toBe(PROMETHEUS_CONTENT_TYPE);
    res.pause();
    const chunks: Buffer[] = [];
    // Read slowly: 64 KB at a time with pauses, so the server sees a full socket.
    for await (const chunk of res) {
      chunks.push(chunk as Buffer);
      if (chunks.length % 8 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    const text = Buffer.concat(chunks).toString('utf8');
    const counts = [
      ...text.matchAll(/^http_request_duration_seconds_count\{method="GET",route="\/r\/(\d+)"/gm),
    ];
    expect(counts).toHaveLength(3000);
    expect(counts.map((m) => Number(m[1]))).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    expect(text.endsWith('\n')).toBe(true);
    // Same histogram text as a direct exposition (gauges like uptime move).
    const histogramLines = (t: string) => t.split('\n').filter((l) => l.startsWith('http_request_duration'));
    expect(histogramLines(text)).toEqual(histogramLines(await monitor.metrics()));
  });

  it('serves JSON stats for Accept: application/json and ?format=json, headers only for HEAD', async () => {
    const monitor = new PerformanceMonitor({ eventLoop: false });
    cleanups.push(() => monitor.close());
    monitor.bind({ method: 'GET', route: '/x', status: 200 }).record(3);
    const port = await serve(monitor);
    for (const options of [{ headers: { accept: 'application/json' } }, { path: '/metrics?format=json' }]) {
      const res = await get(port, options);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      let body = '';
      for await (const chunk of res) body += chunk;
      const stats = JSON.parse(body) as { totalRequests: number; routes: Record<string, { p50Ms: number }> };
      expect(stats.totalRequests).toBe(1);
      expect(stats.routes['/x']?.p50Ms).toBe(3);
    }
    const head = await get(port, { method: 'HEAD' });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-type']).toBe(PROMETHEUS_CONTENT_TYPE);
    let received = 0;
    for await (const chunk of head) received += (chunk as Buffer).length;
    expect(received).toBe(0);
  });

  it('stops writing when the scraper disconnects mid-stream', async () => {
    const monitor = new PerformanceMonitor({ eventLoop: false, maxSeries: 5000 });
    cleanups.push(() => monitor.close());
    for (let i = 0; i < 3000; i++) monitor.bind({ method: 'GET', route: `/r/${i}`, status: 200 }).record(1);
    const port = await serve(monitor);
    const res = await get(port);
    res.once('data', () => res.destroy());
    await once(res, 'close');
    // The server is still healthy afterwards.
    const again = await get(port, { path: '/metrics?format=json' });
    expect(again.statusCode).toBe(200);
    again.resume();
  });
});
