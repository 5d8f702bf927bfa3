/**
 * One trace through every hop, all on loopback: a gateway (Express) calls
 * the orders service through a ServiceClient (its first attempt gets a 503
 * and is retried), orders (node:http) publishes `order.created`, a
 * consumer takes it and calls orders again. Every span is in the trace the
 * gateway's caller started, with the right parent chain.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import express from 'express';
import { afterAll, describe, expect, it } from 'vitest';
import { monitorMiddleware } from '../../../src/express.js';
import { MessageQueue, PerformanceMonitor, ServiceClient } from '../../../src/index.js';
import { installOtel, parentOf } from '../../helpers/otel.js';

const otel = installOtel();
afterAll(() => otel.uninstall());

async function listen(server: http.Server): Promise<{ url: string; close: () => Promise<void> }> {
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

describe('one trace: gateway -> client (retried) -> orders -> queue -> consumer -> client -> orders', () => {
  it('keeps every hop in the caller trace with the right parents', async () => {
    const monitor = new PerformanceMonitor();
    const queue = new MessageQueue({ consumerTrace: 'child', retryBaseMs: 1, retryMaxMs: 2 });

    // orders: node:http behind the monitor middleware; the first POST /orders fails with 503.
    let failNext = true;
    const ordersMiddleware = monitor.middleware({
      route: (req) => (req.url === '/orders' ? '/orders' : req.url === '/notify' ? '/notify' : undefined),
    });
    const orders = await listen(
      http.createServer((req, res) =>
        ordersMiddleware(req, res, async () => {
          req.resume();
          if (req.url === '/orders') {
            if (failNext) {
              failNext = false;
              res.statusCode = 503;
              return res.end();
            }
            await queue.publish('order.created', { orderId: 7 });
          }
          res.setHeader('content-type', 'application/json');
          res.end('{"ok":true}');
        }),
      ),
    );
    const ordersClient = new ServiceClient(
      { baseUrl: orders.url },
      { retry: { backoff: { baseMs: 1, maxMs: 2 } } },
    );

    // The consumer calls orders again.
    let notified = false;
    await queue.consume('order.created', async () => {
      await ordersClient.post('/notify', {}, { idempotencyKey: 'n-7' });
      notified = true;
    });

    // gateway: Express behind the monitor middleware.
    const app = express();
    app.use(monitorMiddleware(monitor));
    app.post('/checkout', async (_req, res) => {
      res.json(await ordersClient.post('/orders', { orderId: 7 }, { idempotencyKey: 'o-7' }));
    });
    const gateway = await listen(http.createServer(app));

    const gatewayClient = new ServiceClient({ baseUrl: gateway.url });
    const root = await trace.getTracer('test').startActiveSpan('user', async (span) => {
      await gatewayClient.post('/checkout', {}, { idempotencyKey: 'c-7' });
      span.end();
      return span.spanContext();
    });
    await expect.poll(() => notified).toBe(true);
    await expect.poll(() => otel.spans().filter((s) => s.kind === SpanKind.SERVER).length).toBe(4);
    await expect.poll(() => otel.spans().filter((s) => s.kind === SpanKind.CONSUMER).length).toBe(1);
    await Promise.all([
      gatewayClient.close(),
      ordersClient.close(),
      queue.close(),
      gateway.close(),
      orders.close(),
    ]);

    const spans = otel.spans();
    // One trace.
    expect(new Set(spans.map((s) => s.spanContext().traceId))).toEqual(new Set([root.traceId]));
    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
    const chain = (s: ReadableSpan): string[] => {
      const names: string[] = [];
      for (let c: ReadableSpan | undefined = s; c !== undefined; c = byId.get(parentOf(c) ?? '')) {
        names.push(
          `${SpanKind[c.kind]} ${c.name}${c.attributes['http.request.resend_count'] ? ' (resend 1)' : ''}`,
        );
      }
      return names.reverse();
    };
    const servers = spans.filter((s) => s.kind === SpanKind.SERVER);
    const notify = servers.find((s) => s.attributes['http.route'] === '/notify')!;
    expect(chain(notify)).toEqual([
      'INTERNAL user',
      'CLIENT POST',
      'CLIENT POST',
      'SERVER POST /checkout',
      'CLIENT POST',
      'CLIENT POST (resend 1)',
      'SERVER POST /orders',
      'PRODUCER send order.created',
      'CONSUMER process order.created',
      'CLIENT POST',
      'CLIENT POST',
      'SERVER POST /notify',
    ]);
    // The failed first attempt reached orders too, in the same trace.
    const failed = servers.find((s) => s.attributes['http.response.status_code'] === 503)!;
    expect(chain(failed).slice(-2)).toEqual(['CLIENT POST', 'SERVER POST /orders']);
  });
});
