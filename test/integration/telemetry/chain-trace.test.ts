/**
 * One trace through the whole chain on the real queue back ends: a client
 * calls the gateway (Express), the gateway calls orders (node:http), orders
 * publishes `order.created` on Redis Streams (a real redis-server) or
 * RabbitMQ, a consumer takes it (its first delivery fails: the retry copy
 * carries the context) and calls notify (node:http). Three orders at once
 * never mix their traces, and no span holds a secret the requests carried
 * (Authorization, cookies, tokens in query strings, credentials).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amqpQueueAdapter } from '../../../src/amqp.js';
import type { QueueAdapter } from '../../../src/contracts/queue.js';
import { monitorMiddleware } from '../../../src/express.js';
import { MessageQueue, PerformanceMonitor, ServiceClient } from '../../../src/index.js';
import { redisStreamsQueueAdapter } from '../../../src/redis.js';
import { uniquePrefix } from '../../helpers/keys.js';
import { installOtel, parentOf } from '../../helpers/otel.js';
import { type AmqpFixture, amqpUrl, connectAmqp, uniqueName } from '../../helpers/rabbitmq.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';
import { until } from '../../helpers/wait.js';

const otel = installOtel();
let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
  await otel.uninstall();
});

/** Secrets the requests carry; none may appear in any span. */
const SECRETS = ['tok-Bearer-secret', 'sid-cookie-secret', 'q-token-secret', 'basic-pass-secret'];

async function listen(server: http.Server): Promise<{ url: string; close: () => Promise<void> }> {
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

/** Reads a JSON body. */
async function bodyOf(req: http.IncomingMessage): Promise<{ orderId: number }> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return JSON.parse(text);
}

/**
 * Runs the chain for three orders at once over `adapter`; returns the
 * spans and the trace each order's root span started.
 */
async function runChain(adapter: QueueAdapter, topic: string): Promise<Map<number, string>> {
  const monitor = new PerformanceMonitor();
  const queue = new MessageQueue({
    adapter,
    consumerTrace: 'child',
    retryBaseMs: 1,
    retryMaxMs: 5,
    closeTimeoutMs: 1_000,
  });

  // notify: node:http, records the trace each order's notification came in.
  const notified = new Map<number, string>();
  const notifyMiddleware = monitor.middleware({ route: () => '/notify' });
  const notify = await listen(
    http.createServer((req, res) =>
      notifyMiddleware(req, res, async () => {
        const { orderId } = await bodyOf(req);
        notified.set(orderId, trace.getActiveSpan()?.spanContext().traceId ?? 'none');
        res.setHeader('content-type', 'application/json');
        res.end('{"ok":true}');
      }),
    ),
  );
  const notifyClient = new ServiceClient({ baseUrl: notify.url });

  // The consumer: the first delivery of each message fails (a retry copy), the next calls notify.
  const failed = new Set<number>();
  await queue.consume<{ orderId: number }>(topic, async ({ orderId }) => {
    if (!failed.has(orderId)) {
      failed.add(orderId);
      throw new Error('flaky consumer');
    }
    await notifyClient.post('/notify', { orderId }, { idempotencyKey: `n-${orderId}` });
  });

  // orders: node:http, publishes order.created.
  const ordersMiddleware = monitor.middleware({ route: () => '/orders' });
  const orders = await listen(
    http.createServer((req, res) =>
      ordersMiddleware(req, res, async () => {
        const { orderId } = await bodyOf(req);
        await queue.publish(topic, { orderId, password: 'never-recorded' });
        res.setHeader('content-type', 'application/json');
        res.end('{"ok":true}');
      }),
    ),
  );
  const ordersClient = new ServiceClient({ baseUrl: orders.url });

  // gateway: Express; calls orders with a token in the query string.
  const app = express();
  app.use(monitorMiddleware(monitor));
  app.use(express.json());
  app.post('/checkout', async (req, res) => {
    const { orderId } = req.body as { orderId: number };
    res.json(
      await ordersClient.post(`/orders?token=${SECRETS[2]}`, { orderId }, { idempotencyKey: `o-${orderId}` }),
    );
  });
  const gateway = await listen(http.createServer(app));
  const gatewayClient = new ServiceClient({ baseUrl: gateway.url });

  // Three orders at once, each in a root span of its own, each with credentials.
  const roots = new Map<number, string>();
  await Promise.all(
    [1, 2, 3].map((orderId) =>
      trace.getTracer('test').startActiveSpan(`user ${orderId}`, async (span) => {
        roots.set(orderId, span.spanContext().traceId);
        await gatewayClient.post(
          '/checkout',
          { orderId },
          {
            idempotencyKey: `c-${orderId}`,
            headers: {
              authorization: `Bearer ${SECRETS[0]}`,
              cookie: `sid=${SECRETS[1]}`,
              'proxy-authorization': `Basic ${Buffer.from(`u:${SECRETS[3]}`).toString('base64')}`,
            },
          },
        );
        span.end();
      }),
    ),
  );
  await until('three notifications', () => notified.size === 3);
  // Each handler has returned (its notify call answered) before the clients close.
  await until(
    'three acknowledged deliveries',
    () =>
      otel.spans().filter((s) => s.kind === SpanKind.CONSUMER && s.attributes['scaleout.outcome'] === 'ack')
        .length === 3,
  );
  await until(
    'every SERVER span ended',
    () => otel.spans().filter((s) => s.kind === SpanKind.SERVER).length === 9,
  );
  await Promise.all([gatewayClient.close(), ordersClient.close(), notifyClient.close(), queue.close()]);
  await Promise.all([gateway.close(), orders.close(), notify.close()]);
  await adapter.close();
  // Each notification came in the trace of its own order.
  for (const [orderId, traceId] of notified) expect(traceId).toBe(roots.get(orderId));
  return roots;
}

/** The chain of span names from the root down to `span`. */
function chainOf(span: ReadableSpan, spans: ReadableSpan[]): string[] {
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
  const names: string[] = [];
  for (let c: ReadableSpan | undefined = span; c !== undefined; c = byId.get(parentOf(c) ?? '')) {
    const delivery = c.attributes['scaleout.messaging.delivery_count'];
    names.push(`${SpanKind[c.kind]} ${c.name}${delivery === undefined ? '' : ` #${delivery}`}`);
  }
  return names.reverse();
}

function expectOneTracePerOrder(roots: Map<number, string>, topic: string, system: string): void {
  const spans = otel.spans();
  for (const [orderId, traceId] of roots) {
    const mine = spans.filter((s) => s.spanContext().traceId === traceId);
    const notifyServer = mine.filter((s) => s.kind === SpanKind.SERVER && s.name === 'POST /notify');
    expect(notifyServer, `order ${orderId}`).toHaveLength(1);
    expect(chainOf(notifyServer[0]!, spans)).toEqual([
      `INTERNAL user ${orderId}`,
      'CLIENT POST',
      'CLIENT POST',
      'SERVER POST /checkout',
      'CLIENT POST',
      'CLIENT POST',
      'SERVER POST /orders',
      `PRODUCER send ${topic}`,
      `CONSUMER process ${topic} #2`,
      'CLIENT POST',
      'CLIENT POST',
      'SERVER POST /notify',
    ]);
    // The failed first delivery is in the same trace, a child of the same producer.
    const consumers = mine.filter((s) => s.kind === SpanKind.CONSUMER);
    expect(consumers.map((c) => c.attributes['scaleout.outcome']).sort()).toEqual(['ack', 'retry']);
    const producer = mine.find((s) => s.kind === SpanKind.PRODUCER)!;
    for (const c of consumers) expect(parentOf(c)).toBe(producer.spanContext().spanId);
    expect(producer.attributes['messaging.system']).toBe(system);
    // Nothing of another order's trace in this one: 1 root, 3 SERVER spans.
    expect(mine.filter((s) => s.kind === SpanKind.SERVER)).toHaveLength(3);
  }
  // No secret anywhere: attributes, events, links, names.
  const text = JSON.stringify(
    spans.map((s) => [s.name, s.attributes, s.events.map((e) => [e.name, e.attributes]), s.links]),
  );
  for (const secret of [...SECRETS, 'never-recorded', 'Bearer', 'sid=']) expect(text).not.toContain(secret);
  expect(text).toContain('token=REDACTED');
}

describe('one trace per order through client, servers, queue and consumer', () => {
  it('on Redis Streams (real redis-server), across a retry copy', async () => {
    otel.exporter.reset();
    const adapter = redisStreamsQueueAdapter({
      connection: { host: '127.0.0.1', port: redis.port },
      prefix: uniquePrefix('chain'),
      claimIdleMs: 500,
      sweepIntervalMs: 50,
      blockMs: 50,
    });
    const roots = await runChain(adapter, 'order.created');
    expectOneTracePerOrder(roots, 'order.created', 'redis');
  });

  it('on RabbitMQ, across a retry copy', async () => {
    otel.exporter.reset();
    const fixture: AmqpFixture = await connectAmqp();
    const prefix = `${uniqueName('chain')}.`;
    fixture.track(`${prefix}scaleout.topics`, 'exchange');
    fixture.track(`${prefix}scaleout.dead-letter`, 'exchange');
    fixture.track(`${prefix}order.created`);
    fixture.track(`${prefix}order.created.dead`);
    try {
      const roots = await runChain(amqpQueueAdapter({ url: amqpUrl(), prefix }), 'order.created');
      expectOneTracePerOrder(roots, 'order.created', 'rabbitmq');
    } finally {
      await fixture.cleanup();
    }
  });
});
