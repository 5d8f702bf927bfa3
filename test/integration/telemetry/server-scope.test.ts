/**
 * The monitor middleware (node:http, Express, Fastify, Koa) enter the
 * incoming request's deadline header and its W3C trace context together: a
 * ServiceClient call made in the handler inherits what is left of the
 * caller's deadline and is a child of the SERVER span. The scope survives
 * body parsing (express.json(), Fastify's JSON parser, a raw-body parser in
 * Koa as co-body does, a handler reading `req.on('data'/'end')` on
 * node:http), also for a body that arrives after the headers.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind, trace } from '@opentelemetry/api';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import getRawBody from 'raw-body';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { monitorMiddleware as expressMonitor } from '../../../src/express.js';
import { monitorPlugin } from '../../../src/fastify.js';
import { isScaleoutError, PerformanceMonitor, ServiceClient } from '../../../src/index.js';
import { monitorMiddleware as koaMonitor } from '../../../src/koa.js';
import { installOtel, parentOf } from '../../helpers/otel.js';
import { sleep } from '../../helpers/wait.js';

const otel = installOtel();

interface Listening {
  url: string;
  close: () => Promise<void>;
}

async function listen(server: http.Server): Promise<Listening> {
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

/** The upstream the handlers call: records what each request carried. */
const upstreamSeen: Array<{
  deadline: string | undefined;
  traceparent: string | undefined;
  tracestate: string | undefined;
  baggage: string | undefined;
}> = [];
let upstream: Listening;
let client: ServiceClient;
beforeAll(async () => {
  upstream = await listen(
    http.createServer((req, res) => {
      upstreamSeen.push({
        deadline: req.headers['x-request-deadline-ms'] as string | undefined,
        traceparent: req.headers.traceparent as string | undefined,
        tracestate: req.headers.tracestate as string | undefined,
        baggage: req.headers.baggage as string | undefined,
      });
      req.resume();
      res.setHeader('content-type', 'application/json');
      res.end('{"up":true}');
    }),
  );
  client = new ServiceClient({ baseUrl: upstream.url }, { retry: { maxAttempts: 1 } });
});
afterAll(async () => {
  await client.close();
  await upstream.close();
  await otel.uninstall();
});

/** What a handler saw: the active span after the body was parsed, the body, the call's outcome. */
interface HandlerView {
  active: string | undefined;
  body: unknown;
  error: string | undefined;
}
let views: HandlerView[] = [];

/** The handler's work once the body (if any) is parsed: one ServiceClient call. */
async function handle(body: unknown): Promise<{ status: number; json: unknown }> {
  const view: HandlerView = { active: trace.getActiveSpan()?.spanContext().spanId, body, error: undefined };
  views.push(view);
  try {
    return { status: 200, json: await client.post('/up', { n: 1 }) };
  } catch (err) {
    view.error = isScaleoutError(err) ? err.code : String(err);
    return { status: isScaleoutError(err, 'ERR_TIMEOUT') ? 504 : 500, json: { error: view.error } };
  }
}

type Start = (monitor: PerformanceMonitor) => Promise<Listening>;

const servers: Record<string, Start> = {
  'node:http': async (monitor) => {
    const middleware = monitor.middleware({ route: () => '/work' });
    return listen(
      http.createServer((req, res) =>
        middleware(req, res, () => {
          // Callback style: the call starts in the 'end' listener.
          let text = '';
          req.setEncoding('utf8');
          req.on('data', (chunk: string) => {
            text += chunk;
          });
          req.on('end', () => {
            void handle(text === '' ? undefined : JSON.parse(text)).then(({ status, json }) => {
              res.statusCode = status;
              res.setHeader('content-type', 'application/json');
              res.end(JSON.stringify(json));
            });
          });
        }),
      ),
    );
  },
  express: async (monitor) => {
    const app = express();
    app.use(expressMonitor(monitor));
    app.use(express.json());
    app.all('/work', async (req, res) => {
      const { status, json } = await handle(req.body);
      res.status(status).json(json);
    });
    return listen(http.createServer(app));
  },
  fastify: async (monitor) => {
    const app = Fastify();
    await app.register(monitorPlugin(monitor));
    app.all('/work', async (request, reply) => {
      const { status, json } = await handle(request.body);
      return reply.status(status).send(json);
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
  },
  koa: async (monitor) => {
    const app = new Koa();
    app.silent = true;
    app.use(koaMonitor(monitor));
    // A body parser as co-body (behind koa-bodyparser) is: raw-body, awaited.
    app.use(async (ctx, next) => {
      if (ctx.is('application/json')) {
        (ctx.request as unknown as { body: unknown }).body = JSON.parse(
          await getRawBody(ctx.req, { encoding: 'utf8', limit: '1mb' }),
        );
      }
      await next();
    });
    app.use(async (ctx) => {
      (ctx as unknown as { _matchedRoute: string })._matchedRoute = '/work';
      const { status, json } = await handle((ctx.request as unknown as { body: unknown }).body);
      ctx.status = status;
      ctx.body = json;
    });
    return listen(http.createServer(app.callback()));
  },
};

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

/**
 * A request to `url`/work: its headers go out at once, its JSON body (if
 * any) `bodyDelayMs` later, in a packet of its own.
 */
function send(
  url: string,
  headers: Record<string, string>,
  body?: unknown,
  bodyDelayMs = 0,
): Promise<{ status: number; json: unknown }> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${url}/work`,
      {
        method: text === undefined ? 'GET' : 'POST',
        headers:
          text === undefined
            ? headers
            : { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
      },
      (res) => {
        let out = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          out += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(out) }));
      },
    );
    req.on('error', reject);
    if (text === undefined) {
      req.end();
      return;
    }
    req.flushHeaders();
    void sleep(bodyDelayMs).then(() => req.end(text));
  });
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  otel.exporter.reset();
  views = [];
  upstreamSeen.length = 0;
});

/** The SERVER span of the one request sent, and the CLIENT call span made in its handler. */
async function spansOfRequest(): Promise<{ server: string; call: ReturnType<typeof otel.spans>[number] }> {
  await expect.poll(() => otel.spans().filter((s) => s.kind === SpanKind.SERVER).length).toBe(1);
  const server = otel.spans().find((s) => s.kind === SpanKind.SERVER)!;
  const calls = otel
    .spans()
    .filter((s) => s.kind === SpanKind.CLIENT && parentOf(s) === server.spanContext().spanId);
  expect(calls).toHaveLength(1);
  return { server: server.spanContext().spanId, call: calls[0]! };
}

for (const [name, start] of Object.entries(servers)) {
  describe(`${name}: the deadline header and the trace enter together`, () => {
    it('a call in the handler inherits the remaining deadline and is a child of the SERVER span', async () => {
      const app = await start(new PerformanceMonitor());
      closers.push(app.close);
      const res = await send(app.url, {
        traceparent: `00-${TRACE}-${PARENT}-01`,
        'x-request-deadline-ms': '700',
      });
      expect(res.status).toBe(200);
      const { server, call } = await spansOfRequest();
      expect(call.spanContext().traceId).toBe(TRACE);
      expect(views[0]!.active).toBe(server);
      // The client's own attempt timeout is 2 s: the upstream got what was left of 700 ms.
      expect(upstreamSeen).toHaveLength(1);
      const left = Number(upstreamSeen[0]!.deadline);
      expect(left).toBeGreaterThan(0);
      expect(left).toBeLessThanOrEqual(700);
      expect(upstreamSeen[0]!.traceparent?.split('-')[1]).toBe(TRACE);
    });

    it("the request's tracestate and baggage go on with the call in the handler", async () => {
      const app = await start(new PerformanceMonitor());
      closers.push(app.close);
      const res = await send(app.url, {
        traceparent: `00-${TRACE}-${PARENT}-01`,
        tracestate: 'vendor=abc',
        baggage: 'tenant=acme',
      });
      expect(res.status).toBe(200);
      const { call } = await spansOfRequest();
      expect(upstreamSeen).toHaveLength(1);
      expect(upstreamSeen[0]!.traceparent?.split('-')[1]).toBe(TRACE);
      expect(upstreamSeen[0]!.tracestate).toBe('vendor=abc');
      expect(upstreamSeen[0]!.baggage).toBe('tenant=acme');
      expect(call.spanContext().traceState?.serialize()).toBe('vendor=abc');
    });

    it('a spent deadline fails the call in the handler fast, without reaching the upstream', async () => {
      const app = await start(new PerformanceMonitor());
      closers.push(app.close);
      const res = await send(app.url, { 'x-request-deadline-ms': '0' });
      expect(res.status).toBe(504);
      expect(views[0]!.error).toBe('ERR_TIMEOUT');
      expect(upstreamSeen).toHaveLength(0);
    });

    it('the scope survives body parsing, for a body that arrives after the headers', async () => {
      const app = await start(new PerformanceMonitor());
      closers.push(app.close);
      const res = await send(
        app.url,
        { traceparent: `00-${TRACE}-${PARENT}-01`, 'x-request-deadline-ms': '900' },
        { order: 7 },
        40,
      );
      expect(res.status).toBe(200);
      expect(views[0]!.body).toEqual({ order: 7 });
      const { server, call } = await spansOfRequest();
      expect(views[0]!.active).toBe(server);
      expect(call.spanContext().traceId).toBe(TRACE);
      expect(Number(upstreamSeen[0]!.deadline)).toBeLessThanOrEqual(900);
    });
  });
}

describe('without a deadline header', () => {
  it("a call in the handler keeps the client's own deadline", async () => {
    const app = await startServer('express');
    closers.push(app.close);
    await send(app.url, {});
    expect(upstreamSeen[0]!.deadline).toBe('2000');
  });

  it('a call can opt out of the inherited deadline with deadlineAt: Infinity', async () => {
    const monitor = new PerformanceMonitor();
    const expressApp = express();
    expressApp.use(expressMonitor(monitor));
    expressApp.get('/work', async (_req, res) => {
      res.json(await client.post('/up', {}, { deadlineAt: Number.POSITIVE_INFINITY }));
    });
    const app = await listen(http.createServer(expressApp));
    closers.push(app.close);
    await send(app.url, { 'x-request-deadline-ms': '300' });
    expect(upstreamSeen[0]!.deadline).toBe('2000');
  });
});

function startServer(name: string): Promise<Listening> {
  return servers[name]!(new PerformanceMonitor());
}
