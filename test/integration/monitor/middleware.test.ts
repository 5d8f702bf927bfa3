import { once } from 'node:events';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import {
  metricsHandler as expressMetrics,
  monitorMiddleware as expressMonitor,
} from '../../../src/express.js';
import { metricsHandler as fastifyMetrics, monitorPlugin } from '../../../src/fastify.js';
import { metricsHandler as koaMetrics, monitorMiddleware as koaMonitor } from '../../../src/koa.js';
import { PerformanceMonitor } from '../../../src/monitor/performance-monitor.js';
import { PROMETHEUS_CONTENT_TYPE } from '../../../src/monitor/prometheus-text.js';
import { parseSamples } from '../../helpers/prometheus-text.js';
import { until } from '../../helpers/wait.js';

interface App {
  url: string;
  close(): Promise<void>;
}

/** GET /users/:id → 200, GET /fail → throws (500), GET /slow → 2 s, GET /metrics. */
type Factory = (monitor: PerformanceMonitor) => Promise<App>;

async function listen(server: Server): Promise<App> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const factories: Record<string, Factory> = {
  'node:http': async (monitor) => {
    const metrics = monitor.handler();
    const track = monitor.middleware({
      route: (req) =>
        req.url?.startsWith('/users/') ? '/users/:id' : req.url === '/fail' ? '/fail' : undefined,
    });
    const server = http.createServer((req, res) => {
      if (req.url?.startsWith('/metrics')) return metrics(req, res);
      track(req, res);
      if (req.url?.startsWith('/users/')) return res.end('user');
      if (req.url === '/slow') return void setTimeout(() => res.end('slow'), 2000);
      if (req.url === '/fail') {
        res.statusCode = 500;
        return res.end('failed');
      }
      res.statusCode = 404;
      res.end();
    });
    return listen(server);
  },
  express: async (monitor) => {
    const app = express();
    app.use(expressMonitor(monitor));
    app.get('/metrics', expressMetrics(monitor));
    app.get('/users/:id', (_req, res) => {
      res.send('user');
    });
    app.get('/fail', () => {
      throw new Error('boom');
    });
    app.get('/slow', (_req, res) => {
      setTimeout(() => res.send('slow'), 2000);
    });
    return listen(http.createServer(app));
  },
  fastify: async (monitor) => {
    const app = Fastify();
    await app.register(monitorPlugin(monitor));
    app.get('/metrics', fastifyMetrics(monitor));
    app.get('/users/:id', async () => 'user');
    app.get('/fail', async () => {
      throw new Error('boom');
    });
    app.get('/slow', async () => new Promise((r) => setTimeout(() => r('slow'), 2000)));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
  },
  koa: async (monitor) => {
    const app = new Koa();
    app.silent = true;
    app.use(koaMonitor(monitor));
    const metrics = koaMetrics(monitor);
    // A two-route router that sets ctx._matchedRoute the way @koa/router does.
    app.use(async (ctx, next) => {
      if (ctx.path === '/metrics') return metrics(ctx, next);
      if (/^\/users\/[^/]+$/.test(ctx.path)) {
        (ctx as unknown as { _matchedRoute: string })._matchedRoute = '/users/:id';
        ctx.body = 'user';
        return;
      }
      if (ctx.path === '/fail') {
        (ctx as unknown as { _matchedRoute: string })._matchedRoute = '/fail';
        throw new Error('boom');
      }
      if (ctx.path === '/slow') {
        await new Promise((r) => setTimeout(r, 2000));
        ctx.body = 'slow';
        return;
      }
      await next();
    });
    return listen(http.createServer(app.callback()));
  },
};

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

/** Starts a request, waits until the server is handling it, then drops the connection. */
async function abortInFlight(url: string, monitor: PerformanceMonitor): Promise<void> {
  await until('no request in flight', () => monitor.getStats().inFlight === 0);
  const req = http.get(url);
  req.on('error', () => {});
  await until('one request in flight', () => monitor.getStats().inFlight === 1);
  req.destroy();
}

for (const [name, factory] of Object.entries(factories)) {
  describe(`${name} middleware`, () => {
    it('records every request with the route template, errors and aborts; sets X-Response-Time; serves /metrics', async () => {
      const monitor = new PerformanceMonitor({ eventLoop: false });
      open.push(() => monitor.close());
      const app = await factory(monitor);
      open.push(() => app.close());

      for (const id of ['1', '42', 'a%22b']) {
        const res = await fetch(`${app.url}/users/${id}`);
        expect(res.status).toBe(200);
        expect(res.headers.get('x-response-time')).toMatch(/^\d+\.\d{3}ms$/);
        await res.text();
      }
      const failed = await fetch(`${app.url}/fail`);
      expect(failed.status).toBe(500);
      expect(failed.headers.get('x-response-time')).toMatch(/^\d+\.\d{3}ms$/);
      await failed.text();
      const missing = await fetch(`${app.url}/no/such/${Math.random()}`);
      expect(missing.status).toBe(404);
      await missing.text();
      await abortInFlight(`${app.url}/slow`, monitor);
      await until('the abort to be counted', () => monitor.getStats().aborted === 1);

      const stats = monitor.getStats();
      expect(stats.totalRequests).toBe(6);
      expect(stats.statusCodes).toEqual({ '200': 3, '404': 1, '499': 1, '500': 1 });
      expect(stats.errors).toBe(1);
      expect(stats.routes['/users/:id']?.requests).toBe(3);
      expect(stats.routes['/fail']?.errors).toBe(1);
      expect(Object.keys(stats.routes).some((r) => r.includes('42') || r.includes('no/such'))).toBe(false);
      expect(stats.inFlight).toBe(0);

      const res = await fetch(`${app.url}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe(PROMETHEUS_CONTENT_TYPE);
      const samples = parseSamples(await res.text());
      const count = (route: string, status: string) =>
        samples.find(
          (s) =>
            s.name === 'http_request_duration_seconds_count' &&
            s.labels.route === route &&
            s.labels.status === status,
        )?.value;
      expect(count('/users/:id', '200')).toBe(3);
      expect(count('/fail', '500')).toBe(1);
      expect(samples.find((s) => s.name === 'http_requests_aborted_total')?.value).toBe(1);

      const json = await fetch(`${app.url}/metrics?format=json`);
      expect(json.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await json.json()) as { totalRequests: number; routes: Record<string, unknown> };
      expect(body.totalRequests).toBeGreaterThanOrEqual(6);
      expect(body.routes['/users/:id']).toBeDefined();
    });
  });
}
