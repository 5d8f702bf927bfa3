/**
 * One recording feeds both: the duration the PerformanceMonitor records for
 * a response (and a ServiceClient for an attempt) is the one that goes to
 * http.server.request.duration (http.client.request.duration), not a second
 * measurement. The clocks here are fake and move only in the handlers, so
 * the duration of each request is known exactly (42 ms, 17 ms): a second
 * measurement on the system clock could not match it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Histogram } from '@opentelemetry/sdk-metrics';
import { afterAll, describe, expect, it } from 'vitest';
import { PerformanceMonitor, ServiceClient } from '../../../src/index.js';
import { fakeClock } from '../../helpers/clock.js';
import { installOtel } from '../../helpers/otel.js';

const otel = installOtel();
afterAll(() => otel.uninstall());

async function listen(handler: http.RequestListener): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** `name{labels} value` lines of the exposition whose labels contain `match`. */
function promSamples(text: string, name: string, match: string): number[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && l.includes(match))
    .map((l) => Number(l.slice(l.lastIndexOf(' ') + 1)));
}

describe('PerformanceMonitor and http.server.request.duration: one recording', () => {
  it('one request: one Prometheus observation and one OTel data point, same duration', async () => {
    const clock = fakeClock();
    const monitor = new PerformanceMonitor({ clock, eventLoop: false });
    const track = monitor.middleware({ route: () => '/one/:id', responseTimeHeader: false });
    const server = await listen((req, res) =>
      track(req, res, () => {
        clock.advance(42); // the request "takes" 42 ms on the monitor's clock
        res.end('ok');
      }),
    );
    try {
      await (await fetch(`${server.url}/one/7`)).text();
      const route = (p: { attributes: Record<string, unknown> }) => p.attributes['http.route'] === '/one/:id';
      await expect
        .poll(async () => (await otel.points('http.server.request.duration')).filter(route))
        .toHaveLength(1);
      const [point] = (await otel.points('http.server.request.duration')).filter(route);
      const value = point!.value as Histogram;
      expect(value.count).toBe(1);
      expect(value.sum).toBe(0.042);
      expect(point!.attributes).toMatchObject({
        'http.request.method': 'GET',
        'http.response.status_code': 200,
        'url.scheme': 'http',
      });
      const text = await monitor.metrics();
      const labels = 'method="GET",route="/one/:id",status="200"';
      expect(promSamples(text, 'http_request_duration_seconds_count', labels)).toEqual([1]);
      expect(promSamples(text, 'http_request_duration_seconds_sum', labels)).toEqual([value.sum]);
    } finally {
      await server.close();
      await monitor.close();
    }
  });

  it('a request tracked by two monitors is one OTel data point (the first monitor’s duration)', async () => {
    const clock = fakeClock();
    const first = new PerformanceMonitor({ clock, eventLoop: false });
    const second = new PerformanceMonitor({ eventLoop: false });
    const server = await listen((req, res) => {
      first.track(req, res, { route: () => '/two', responseTimeHeader: false });
      second.track(req, res, { route: () => '/two', responseTimeHeader: false });
      clock.advance(5);
      res.end('ok');
    });
    try {
      await (await fetch(`${server.url}/two`)).text();
      const route = (p: { attributes: Record<string, unknown> }) => p.attributes['http.route'] === '/two';
      await expect
        .poll(async () => (await otel.points('http.server.request.duration')).filter(route))
        .toHaveLength(1);
      await new Promise((r) => setTimeout(r, 20));
      const [point] = (await otel.points('http.server.request.duration')).filter(route);
      expect((point!.value as Histogram).count).toBe(1);
      expect((point!.value as Histogram).sum).toBe(0.005);
    } finally {
      await server.close();
      await Promise.all([first.close(), second.close()]);
    }
  });
});

describe('monitor.recordResponse() and http.server.request.duration: one recording', () => {
  it('the duration it returns is the one OTel gets, with its labels as attributes', async () => {
    const clock = fakeClock();
    const monitor = new PerformanceMonitor({ clock, eventLoop: false });
    try {
      const start = monitor.recordRequest();
      clock.advance(9);
      expect(monitor.recordResponse(start, 201, { method: 'post', route: '/manual' })).toBe(9);
      const points = (await otel.points('http.server.request.duration')).filter(
        (p) => p.attributes['http.route'] === '/manual',
      );
      expect(points).toHaveLength(1);
      expect(points[0]!.attributes).toEqual({
        'http.request.method': 'POST',
        'http.route': '/manual',
        'http.response.status_code': 201,
      });
      expect((points[0]!.value as Histogram).sum).toBe(0.009);
      const text = await monitor.metrics();
      expect(promSamples(text, 'http_request_duration_seconds_sum', 'route="/manual"')).toEqual([0.009]);
    } finally {
      await monitor.close();
    }
  });
});

describe('ServiceClient attempts and http.client.request.duration: one recording', () => {
  it('one call: one monitor observation (observeClient) and one OTel data point, same duration', async () => {
    const clock = fakeClock();
    const upstream = await listen((req, res) => {
      req.resume();
      clock.advance(17); // the attempt "takes" 17 ms on the client's clock
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    });
    const monitor = new PerformanceMonitor({ eventLoop: false });
    const client = new ServiceClient({ baseUrl: upstream.url }, { clock });
    monitor.observeClient(client);
    try {
      await client.get('/item');
      const port = Number(new URL(upstream.url).port);
      const points = (await otel.points('http.client.request.duration')).filter(
        (p) => p.attributes['server.port'] === port,
      );
      expect(points).toHaveLength(1);
      const value = points[0]!.value as Histogram;
      expect(value.count).toBe(1);
      expect(value.sum).toBe(0.017);
      const text = await monitor.metrics();
      const labels = 'outcome="success",service="';
      expect(promSamples(text, 'scaleout_client_attempt_duration_seconds_count', labels)).toEqual([1]);
      expect(promSamples(text, 'scaleout_client_attempt_duration_seconds_sum', labels)).toEqual([value.sum]);
    } finally {
      await client.close();
      await monitor.close();
      await upstream.close();
    }
  });
});
