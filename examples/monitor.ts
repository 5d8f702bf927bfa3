/**
 * PerformanceMonitor on a node:http service: per-route latency percentiles,
 * errors, aborted requests, cache events, and a Prometheus /metrics endpoint.
 * Run: npm run example:monitor  (no external services needed: the monitor
 * keeps everything in process; REDIS_URL plays no part here).
 */
import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PerformanceMonitor } from 'scaleout';

const monitor = new PerformanceMonitor({ windowMs: 60_000, windowSlots: 6 });
const cache = new EventEmitter(); // stands in for any primitive's event emitter
monitor.observe(cache, 'cache', { hit: {}, miss: {}, load: { durationMs: (e: { ms: number }) => e.ms } });

const track = monitor.middleware({
  // The route template, never the raw path (every distinct label is a series).
  route: (req) =>
    req.url?.startsWith('/users/') ? '/users/:id' : req.url === '/orders' ? '/orders' : undefined,
});
const metrics = monitor.handler();
const server = http.createServer((req, res) => {
  if (req.url?.startsWith('/metrics')) return metrics(req, res);
  track(req, res);
  if (req.url?.startsWith('/users/')) {
    const hit = Math.random() < 0.8;
    cache.emit(hit ? 'hit' : 'miss', {});
    if (!hit) cache.emit('load', { ms: 15 });
    return void setTimeout(() => res.end('{"name":"Ada"}'), hit ? 1 : 15);
  }
  if (req.url === '/orders') {
    res.statusCode = Math.random() < 0.1 ? 503 : 201;
    return void setTimeout(() => res.end(), 30);
  }
  res.statusCode = 404;
  res.end();
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const calls: Array<Promise<unknown>> = [];
for (let i = 0; i < 200; i++) calls.push(fetch(`${base}/users/${i}`).then((r) => r.text()));
for (let i = 0; i < 50; i++) calls.push(fetch(`${base}/orders`, { method: 'POST' }).then((r) => r.text()));
calls.push(fetch(`${base}/no/such/page`).then((r) => r.text()));
await Promise.all(calls);
const waitFor = async (done: () => boolean) => {
  while (!done()) await new Promise((r) => setTimeout(r, 10));
};
await waitFor(() => monitor.getStats().inFlight === 0);
const slow = http.get(`${base}/orders`); // a client that gives up: recorded as 499
slow.on('error', () => {});
await waitFor(() => monitor.getStats().inFlight === 1);
slow.destroy();
await waitFor(() => monitor.getStats().aborted === 1);

const stats = monitor.getStats();
console.log(`requests ${stats.totalRequests}, errors ${stats.errors}, aborted ${stats.aborted}`);
console.log(
  `p50 ${stats.p50Ms?.toFixed(2)} ms, p99 ${stats.p99Ms?.toFixed(2)} ms, ${stats.requestsPerSecond.toFixed(0)} req/s`,
);
for (const [route, r] of Object.entries(stats.routes)) {
  console.log(
    `  ${route.padEnd(12)} ${r.requests} requests, p95 ${r.p95Ms?.toFixed(2)} ms, error rate ${r.errorRate.toFixed(1)}%`,
  );
}
const text = await (await fetch(`${base}/metrics`)).text();
for (const line of text.split('\n')) {
  if (/^(http_request_duration_seconds_count|scaleout_cache_\w+_total)/.test(line)) console.log(line);
}
server.close();
await monitor.close();
