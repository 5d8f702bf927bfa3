/**
 * The monitor middleware open a SERVER span per request, on all four
 * servers: the incoming trace context is its parent, the handler runs in
 * its context, the route template and status are recorded when the
 * response ends, and http.server.request.duration is recorded.
 */
import http from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { SpanKind, trace } from '@opentelemetry/api';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { monitorMiddleware as expressMonitor } from '../../../src/express.js';
import { monitorPlugin } from '../../../src/fastify.js';
import { PerformanceMonitor } from '../../../src/index.js';
import { monitorMiddleware as koaMonitor } from '../../../src/koa.js';
import { DURATION_BUCKETS_SECONDS } from '../../../src/telemetry/semconv.js';
import { installOtel, parentOf } from '../../helpers/otel.js';

const otel = installOtel();
afterAll(() => otel.uninstall());

/** What the handler of `/users/:id` saw as the active span. */
let activeInHandler: string | undefined;
const inHandler = () => {
  activeInHandler = trace.getActiveSpan()?.spanContext().spanId;
};

async function listen(server: http.Server): Promise<{ url: string; close: () => Promise<void> }> {
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

type Start = (monitor: PerformanceMonitor) => Promise<{ url: string; close: () => Promise<void> }>;

const servers: Record<string, Start> = {
  'node:http': async (monitor) => {
    const middleware = monitor.middleware({
      route: (req) => (req.url?.startsWith('/users/') ? '/users/:id' : undefined),
    });
    return listen(
      http.createServer((req, res) =>
        middleware(req, res, () => {
          inHandler();
          res.statusCode = req.url?.startsWith('/users/') ? 200 : 500;
          res.end('x');
        }),
      ),
    );
  },
  express: async (monitor) => {
    const app = express();
    app.use(expressMonitor(monitor));
    app.get('/users/:id', (_req, res) => {
      inHandler();
      res.send('user');
    });
    app.get('/fail', () => {
      throw new Error('boom');
    });
    return listen(http.createServer(app));
  },
  fastify: async (monitor) => {
    const app = Fastify();
    await app.register(monitorPlugin(monitor));
    app.get('/users/:id', async () => {
      inHandler();
      return 'user';
    });
    app.get('/fail', async () => {
      throw new Error('boom');
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
  },
  koa: async (monitor) => {
    const app = new Koa();
    app.silent = true;
    app.use(koaMonitor(monitor));
    app.use(async (ctx) => {
      if (/^\/users\/[^/]+$/.test(ctx.path)) {
        (ctx as unknown as { _matchedRoute: string })._matchedRoute = '/users/:id';
        await Promise.resolve();
        inHandler();
        ctx.body = 'user';
        return;
      }
      (ctx as unknown as { _matchedRoute: string })._matchedRoute = '/fail';
      throw new Error('boom');
    });
    return listen(http.createServer(app.callback()));
  },
};

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  otel.exporter.reset();
  activeInHandler = undefined;
});

/** Sends one raw request line (node accepts any client's absolute-form target) and waits for the answer. */
function rawGet(url: string, target: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    let answer = '';
    const socket = connect(Number(port), hostname, () => {
      socket.write(`GET ${target} HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\n\r\n`);
    });
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(answer.split('\r\n')[0]!));
  });
}

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

for (const [name, start] of Object.entries(servers)) {
  describe(`${name} monitor middleware`, () => {
    it('opens a SERVER span, child of the incoming traceparent, with the route template and status', async () => {
      const { url, close } = await start(new PerformanceMonitor());
      closers.push(close);
      const res = await fetch(`${url}/users/42?token=hunter2`, {
        headers: { traceparent: `00-${TRACE}-${PARENT}-01` },
      });
      await res.text();
      await expect.poll(() => otel.spans().filter((s) => s.kind === SpanKind.SERVER).length).toBe(1);
      const span = otel.spans().find((s) => s.kind === SpanKind.SERVER)!;
      expect(span.name).toBe('GET /users/:id');
      expect(span.spanContext().traceId).toBe(TRACE);
      expect(parentOf(span)).toBe(PARENT);
      expect(span.attributes).toMatchObject({
        'http.request.method': 'GET',
        'http.route': '/users/:id',
        'http.response.status_code': 200,
        'url.path': '/users/42',
        'url.scheme': 'http',
      });
      expect(JSON.stringify(span.attributes)).not.toContain('hunter2');
      expect(activeInHandler).toBe(span.spanContext().spanId);
    });

    it('records only the path of an absolute-form target: never its credentials, host or query', async () => {
      const { url, close } = await start(new PerformanceMonitor());
      closers.push(close);
      const { host } = new URL(url);
      // (The node:http test server routes on req.url as given, so it answers 500 here: the span is the point.)
      const status = await rawGet(url, `http://admin:hunter2@${host}/users/42?token=s3cret`);
      expect(status).toMatch(/^HTTP\/1\.1 [25]00 /);
      await expect.poll(() => otel.spans().filter((s) => s.kind === SpanKind.SERVER).length).toBe(1);
      const span = otel.spans().find((s) => s.kind === SpanKind.SERVER)!;
      expect(span.attributes['url.path']).toBe('/users/42');
      const recorded = JSON.stringify({ name: span.name, attributes: span.attributes });
      for (const secret of ['hunter2', 'admin', 's3cret']) expect(recorded).not.toContain(secret);
    });

    it('marks a 5xx as an error, and starts a new trace for a hostile traceparent', async () => {
      const { url, close } = await start(new PerformanceMonitor());
      closers.push(close);
      const res = await fetch(`${url}/fail`, { headers: { traceparent: `00-${'z'.repeat(32)}-x-01` } });
      await res.text();
      await expect.poll(() => otel.spans().filter((s) => s.kind === SpanKind.SERVER).length).toBe(1);
      const span = otel.spans().find((s) => s.kind === SpanKind.SERVER)!;
      expect(parentOf(span)).toBeUndefined();
      expect(span.attributes['http.response.status_code']).toBe(500);
      expect(span.attributes['error.type']).toBe('500');
      expect(span.status.code).toBe(2);
    });
  });
}

describe('http.server.request.duration', () => {
  it('is recorded in seconds with the conventions buckets', async () => {
    const { url, close } = await servers.express!(new PerformanceMonitor());
    closers.push(close);
    await (await fetch(`${url}/users/1`)).text();
    await expect
      .poll(async () => (await otel.points('http.server.request.duration')).length)
      .toBeGreaterThan(0);
    const m = await otel.metric('http.server.request.duration');
    expect(m?.unit).toBe('s');
    expect(m?.boundaries).toEqual([...DURATION_BUCKETS_SECONDS]);
    expect(m?.points.some((p) => p.attributes['http.route'] === '/users/:id')).toBe(true);
  });
});
