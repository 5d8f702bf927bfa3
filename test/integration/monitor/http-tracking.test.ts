import { once } from 'node:events';
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { responseTimeText } from '../../../src/monitor/http-tracking.js';
import { PerformanceMonitor } from '../../../src/monitor/performance-monitor.js';
import { until } from '../../helpers/wait.js';

let server: Server | undefined;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  server = http.createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('responseTimeText: X-Response-Time without toFixed', () => {
  it('writes exactly what ms.toFixed(3) + "ms" writes', () => {
    const same = (ms: number): void => {
      expect(responseTimeText(ms)).toBe(`${ms.toFixed(3)}ms`);
    };
    fc.assert(fc.property(fc.double({ min: 0, max: 1e6, noNaN: true }), same), { numRuns: 20_000 });
    // Rounding ties in decimal (x.xxx5), which double arithmetic can tip either way.
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), (n) => same(n / 1e4 + 0.0005)),
      { numRuns: 20_000 },
    );
    for (const ms of [
      0,
      -0,
      0.0004,
      0.0005,
      0.0015,
      1,
      9.9995,
      999.9995,
      1e9 - 1,
      1e9,
      1e12,
      -1,
      Number.NaN,
    ]) {
      same(ms);
    }
  });
});

describe('HTTP tracking on node:http', () => {
  it('two monitors on one response both record it; the same monitor twice records it once', async () => {
    const a = new PerformanceMonitor({ eventLoop: false });
    const b = new PerformanceMonitor({ eventLoop: false });
    const routeOf = () => '/r';
    const url = await serve((req, res) => {
      a.track(req, res, { route: routeOf });
      b.track(req, res, { route: routeOf, responseTimeHeader: false });
      a.track(req, res, { route: routeOf });
      res.end('ok');
    });
    const res = await fetch(`${url}/r`);
    expect(await res.text()).toBe('ok');
    expect(res.headers.get('x-response-time')).toMatch(/^\d+\.\d{3}ms$/);
    await until('both records', () => a.getStats().totalRequests === 1 && b.getStats().totalRequests === 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(a.getStats()).toMatchObject({ totalRequests: 1, inFlight: 0 });
    expect(b.getStats()).toMatchObject({ totalRequests: 1, inFlight: 0 });
    expect(Object.keys(a.getStats().routes)).toEqual(['/r']);
  });

  it('a monitor without the header, then one with it: the header is still set', async () => {
    const quiet = new PerformanceMonitor({ eventLoop: false });
    const loud = new PerformanceMonitor({ eventLoop: false });
    const url = await serve((req, res) => {
      quiet.track(req, res, { responseTimeHeader: false });
      loud.track(req, res);
      res.end('ok');
    });
    const res = await fetch(url);
    await res.text();
    expect(res.headers.get('x-response-time')).toMatch(/^\d+\.\d{3}ms$/);
  });

  it("calls a writeHead wrapper installed before it with the caller's arguments, their count included", async () => {
    const monitor = new PerformanceMonitor({ eventLoop: false });
    const seen: number[] = [];
    const url = await serve((req, res) => {
      const inner = res.writeHead;
      res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
        seen.push(args.length);
        return (inner as (...a: unknown[]) => ServerResponse).apply(this, args);
      } as ServerResponse['writeHead'];
      monitor.track(req, res);
      if (req.url === '/explicit') res.writeHead(201, 'Made', { 'x-a': '1' }).end();
      else res.end('implicit');
    });
    const explicit = await fetch(`${url}/explicit`);
    expect(explicit.status).toBe(201);
    expect(explicit.headers.get('x-a')).toBe('1');
    expect(explicit.headers.get('x-response-time')).toMatch(/ms$/);
    await (await fetch(`${url}/implicit`)).text();
    expect(seen).toEqual([3, 1]);
  });

  it('labels each response by its own route, method and status (the last series found is not reused for others)', async () => {
    const monitor = new PerformanceMonitor({ eventLoop: false });
    const url = await serve((req, res) => {
      monitor.track(req, res, { route: (r) => (r.url === '/b' ? '/b' : '/a') });
      res.statusCode = req.url === '/b' ? 404 : req.url === '/a?fail' ? 500 : 200;
      res.end();
    });
    for (const [path, method] of [
      ['/a', 'GET'],
      ['/a', 'GET'],
      ['/a?fail', 'GET'],
      ['/b', 'GET'],
      ['/a', 'POST'],
      ['/a', 'GET'],
    ] as const) {
      await (await fetch(`${url}${path}`, { method })).text();
    }
    await until('6 records', () => monitor.getStats().totalRequests === 6);
    const stats = monitor.getStats();
    expect(stats.routes['/a']!.requests).toBe(5);
    expect(stats.routes['/b']!.requests).toBe(1);
    expect(stats.statusCodes).toEqual({ 200: 4, 404: 1, 500: 1 });
    const text = await monitor.metrics();
    expect(text).toMatch(/_count\{method="GET",route="\/a",status="200"\} 3/);
    expect(text).toMatch(/_count\{method="GET",route="\/a",status="500"\} 1/);
    expect(text).toMatch(/_count\{method="POST",route="\/a",status="200"\} 1/);
  });

  it('past maxSeries every response still counts toward the overflow series', async () => {
    const monitor = new PerformanceMonitor({ eventLoop: false, maxSeries: 1 });
    const url = await serve((req, res) => {
      monitor.track(req, res, { route: () => req.url });
      res.end();
    });
    for (const path of ['/first', '/x', '/x', '/y', '/x']) await (await fetch(`${url}${path}`)).text();
    await until('5 records', () => monitor.getStats().totalRequests === 5);
    expect(monitor.getStats().routes.__overflow__!.requests).toBe(4);
    expect(await monitor.metrics()).toMatch(/^scaleout_monitor_overflow_total 4$/m);
  });
});

describe('monitor.track()', () => {
  it('counts a response once even when two middlewares track it', async () => {
    const monitor = new PerformanceMonitor({ eventLoop: false });
    cleanups.push(() => monitor.close());
    const a = monitor.middleware({ route: () => '/a' });
    const b = monitor.middleware({ route: () => '/b' });
    const server = http.createServer((req, res) => {
      a(req, res);
      b(req, res);
      res.end('ok');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(
      () =>
        new Promise((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await res.text();
    const deadline = Date.now() + 10_000;
    while (monitor.getStats().totalRequests === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 50));
    const stats = monitor.getStats();
    expect(stats.totalRequests).toBe(1);
    expect(Object.keys(stats.routes)).toEqual(['/a']);
    expect(stats.inFlight).toBe(0);
  });
});
