import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  context,
  createTraceState,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ServiceClient } from '../../../src/client/service-client.js';
import { ServiceRegistry } from '../../../src/registry/service-registry.js';
import { DURATION_BUCKETS_SECONDS } from '../../../src/telemetry/semconv.js';
import { type InstalledOtel, installOtel, parentOf } from '../../helpers/otel.js';

const fast = { retry: { backoff: { baseMs: 1, maxMs: 2 } } } as const;

let otel: InstalledOtel;
let server: Server;
let base: string;
const seen: IncomingHttpHeaders[] = [];
/** Statuses to answer, first to last, then 200. */
let script: number[] = [];

beforeAll(async () => {
  otel = installOtel();
  server = createServer((req, res) => {
    seen.push(req.headers);
    res.statusCode = script.shift() ?? 200;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ ok: true }));
  });
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.close();
  await otel.uninstall();
});
afterEach(() => {
  otel.exporter.reset();
  seen.length = 0;
  script = [];
});

function traceparentOf(h: IncomingHttpHeaders): { traceId: string; spanId: string } {
  const [, traceId, spanId] = String(h.traceparent).split('-');
  return { traceId: traceId!, spanId: spanId! };
}

describe('ServiceClient spans', () => {
  it('opens a CLIENT span per call and per attempt on the HTTP conventions, and sends traceparent', async () => {
    const client = new ServiceClient({ baseUrl: base }, fast);
    const tracer = trace.getTracer('test');
    await tracer.startActiveSpan('parent', async (parent) => {
      await client.get('/items/1');
      parent.end();
    });
    await client.close();
    const spans = otel.spans();
    const parent = spans.find((s) => s.name === 'parent')!;
    const gets = spans.filter((s) => s.name === 'GET');
    expect(gets).toHaveLength(2);
    const call = gets.find((s) => parentOf(s) === parent.spanContext().spanId)!;
    const attempt = gets.find((s) => parentOf(s) === call.spanContext().spanId)!;
    expect(call.kind).toBe(SpanKind.CLIENT);
    expect(attempt.kind).toBe(SpanKind.CLIENT);
    expect(call.attributes['http.request.method']).toBe('GET');
    expect(attempt.attributes).toMatchObject({
      'http.request.method': 'GET',
      'server.address': '127.0.0.1',
      'server.port': Number(new URL(base).port),
      'url.full': `${base}/items/1`,
      'http.response.status_code': 200,
      'scaleout.instance.id': expect.any(String),
      'scaleout.breaker.state': 'closed',
      'scaleout.attempt': 1,
    });
    expect(attempt.attributes['http.request.resend_count']).toBeUndefined();
    expect(attempt.attributes['scaleout.deadline.remaining_ms']).toBeGreaterThan(0);
    // The server saw the attempt's span as its parent.
    expect(traceparentOf(seen[0]!)).toEqual({
      traceId: parent.spanContext().traceId,
      spanId: attempt.spanContext().spanId,
    });
  });

  it('records retries as attempt spans with http.request.resend_count and a retry event', async () => {
    script = [503, 503];
    const client = new ServiceClient({ baseUrl: base }, fast);
    await client.get('/flaky');
    await client.close();
    const gets = otel.spans().filter((s) => s.name === 'GET');
    const call = gets.find((s) => parentOf(s) === undefined)!;
    const attempts = gets.filter((s) => parentOf(s) === call.spanContext().spanId);
    expect(attempts.map((s) => s.attributes['http.request.resend_count'])).toEqual([undefined, 1, 2]);
    expect(attempts.map((s) => s.attributes['error.type'])).toEqual(['503', '503', undefined]);
    expect(attempts.map((s) => s.attributes['http.response.status_code'])).toEqual([503, 503, 200]);
    const retries = call.events.filter((e) => e.name === 'retry');
    expect(retries).toHaveLength(2);
    expect(retries[0]!.attributes).toMatchObject({
      'scaleout.attempt': 2,
      'scaleout.retry.reason': 'ERR_HTTP_STATUS',
      'scaleout.retry.delay_ms': expect.any(Number),
    });
    // Every attempt carried its own span as the parent of the server's.
    expect(seen.map((h) => traceparentOf(h).spanId)).toEqual(attempts.map((s) => s.spanContext().spanId));
  });

  it('ends the call span with error.type when the call fails', async () => {
    script = [404];
    const client = new ServiceClient({ baseUrl: base }, fast);
    await expect(client.get('/missing')).rejects.toMatchObject({ code: 'ERR_HTTP_STATUS' });
    await client.close();
    const call = otel.spans().find((s) => s.name === 'GET' && parentOf(s) === undefined)!;
    expect(call.attributes['error.type']).toBe('ERR_HTTP_STATUS');
    expect(call.status.code).toBe(2);
  });

  it('keeps three concurrent calls in their own traces', async () => {
    const client = new ServiceClient({ baseUrl: base }, fast);
    const tracer = trace.getTracer('test');
    const parents = await Promise.all(
      [1, 2, 3].map((i) =>
        tracer.startActiveSpan(`parent-${i}`, async (parent) => {
          await new Promise((r) => setTimeout(r, 3 - i));
          await client.get(`/items/${i}`);
          parent.end();
          return { traceId: parent.spanContext().traceId, path: `/items/${i}` };
        }),
      ),
    );
    await client.close();
    const attempts = otel
      .spans()
      .filter((s) => s.name === 'GET' && typeof s.attributes['url.full'] === 'string');
    for (const p of parents) {
      const mine = attempts.filter((s) => String(s.attributes['url.full']).endsWith(p.path));
      expect(mine).toHaveLength(1);
      expect(mine[0]!.spanContext().traceId).toBe(p.traceId);
    }
    expect(new Set(seen.map((h) => traceparentOf(h).traceId))).toEqual(
      new Set(parents.map((p) => p.traceId)),
    );
  });

  it('puts no secret in span attributes (query secrets, credentials, headers)', async () => {
    const client = new ServiceClient({ baseUrl: base }, fast);
    await client.get('/search?q=bolt&token=hunter2&api_key=hunter2&password=hunter2#frag', {
      headers: { Authorization: 'Bearer hunter2', Cookie: 'sid=hunter2' },
    });
    await client.close();
    const attempt = otel.spans().find((s) => typeof s.attributes['url.full'] === 'string')!;
    expect(attempt.attributes['url.full']).toBe(
      `${base}/search?q=bolt&token=REDACTED&api_key=REDACTED&password=REDACTED`,
    );
    for (const span of otel.spans()) {
      expect(JSON.stringify({ a: span.attributes, e: span.events })).not.toContain('hunter2');
    }
  });

  it('propagates the baggage of the caller', async () => {
    const client = new ServiceClient({ baseUrl: base }, fast);
    const bag = propagation.createBaggage({ tenant: { value: 'acme' } });
    await context.with(propagation.setBaggage(context.active(), bag), () => client.get('/b'));
    await client.close();
    expect(seen[0]!.baggage).toBe('tenant=acme');
  });

  it('injects traceparent, tracestate and baggage into every attempt of a retried call', async () => {
    script = [503, 503];
    const client = new ServiceClient({ baseUrl: base }, fast);
    const caller = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: 'a'.repeat(32),
      spanId: 'b'.repeat(16),
      traceFlags: TraceFlags.SAMPLED,
      traceState: createTraceState('vendor=abc'),
      isRemote: true,
    });
    const bag = propagation.createBaggage({ tenant: { value: 'acme' } });
    await context.with(propagation.setBaggage(caller, bag), () => client.get('/every'));
    await client.close();
    const gets = otel.spans().filter((s) => s.name === 'GET');
    const call = gets.find((s) => parentOf(s) === 'b'.repeat(16))!;
    const attempts = gets.filter((s) => parentOf(s) === call.spanContext().spanId);
    expect(attempts).toHaveLength(3);
    expect(seen).toHaveLength(3);
    for (const [i, h] of seen.entries()) {
      expect(traceparentOf(h)).toEqual({
        traceId: 'a'.repeat(32),
        spanId: attempts[i]!.spanContext().spanId,
      });
      expect(h.tracestate).toBe('vendor=abc');
      expect(h.baggage).toBe('tenant=acme');
    }
  });

  it('keeps the credentials of a base URL out of span attributes', async () => {
    const withCredentials = base.replace('http://', 'http://alice:hunter2@');
    const client = new ServiceClient({ baseUrl: withCredentials }, fast);
    await client.get('/creds?ok=1');
    await client.close();
    const attempt = otel.spans().find((s) => typeof s.attributes['url.full'] === 'string')!;
    expect(attempt.attributes['url.full']).toBe(
      `${base.replace('http://', 'http://REDACTED:REDACTED@')}/creds?ok=1`,
    );
    for (const span of otel.spans()) {
      expect(JSON.stringify({ a: span.attributes, e: span.events })).not.toContain('hunter2');
      expect(JSON.stringify({ a: span.attributes, e: span.events })).not.toContain('alice');
    }
  });

  it('sends no trace header and makes no span with tracerProvider: false', async () => {
    const client = new ServiceClient({ baseUrl: base }, { ...fast, tracerProvider: false });
    await trace.getTracer('test').startActiveSpan('p', async (p) => {
      await client.get('/off');
      p.end();
    });
    await client.close();
    expect(seen[0]!.traceparent).toBeUndefined();
    expect(otel.spans().filter((s) => s.name === 'GET')).toHaveLength(0);
  });

  it('uses the tracerProvider given instead of the global one', async () => {
    const exporter = new InMemorySpanExporter();
    const own = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const client = new ServiceClient({ baseUrl: base }, { ...fast, tracerProvider: own });
    await context.with(ROOT_CONTEXT, () => client.get('/own'));
    await client.close();
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['GET', 'GET']);
    expect(otel.spans().filter((s) => s.name === 'GET')).toHaveLength(0);
    await own.shutdown();
  });

  it('refuses a tracerProvider or meterProvider that is not one, with a typed error', () => {
    for (const bad of [
      { tracerProvider: 42 },
      { tracerProvider: {} },
      { meterProvider: 'x' },
      { tracer: {} },
    ]) {
      expect(() => new ServiceClient({ baseUrl: base }, bad as never)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }),
      );
    }
  });
});

describe('ServiceClient decisions', () => {
  it('records a breaker transition as an event of the attempt that caused it, and counts it', async () => {
    script = [503];
    const client = new ServiceClient(
      { baseUrl: base },
      { retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 1, openMs: 60_000 } },
    );
    await expect(client.get('/trip')).rejects.toMatchObject({ code: 'ERR_HTTP_STATUS' });
    await expect(client.get('/trip')).rejects.toMatchObject({ code: 'ERR_CIRCUIT_OPEN' });
    await client.close();
    const attempt = otel.spans().find((s) => typeof s.attributes['url.full'] === 'string')!;
    expect(attempt.events.map((e) => [e.name, e.attributes])).toEqual([
      ['breaker-state-change', { from: 'closed', to: 'open' }],
    ]);
    const refused = otel
      .spans()
      .filter(
        (s) =>
          s.name === 'GET' && parentOf(s) === undefined && s.attributes['error.type'] === 'ERR_CIRCUIT_OPEN',
      );
    expect(refused).toHaveLength(1);
    const transitions = await otel.points('scaleout.client.breaker.transitions');
    expect(transitions.find((p) => p.attributes['scaleout.breaker.state'] === 'open')?.value).toBe(1);
    expect((await otel.metric('scaleout.client.breaker.transitions'))?.unit).toBe('{transition}');
  });

  it('records a retry refused by the budget as an event and a count', async () => {
    script = [503];
    const client = new ServiceClient(
      { baseUrl: base },
      { ...fast, retryBudget: { ratio: 0, minRetriesPerSecond: 0, maxTokens: 0 } },
    );
    await expect(client.get('/budget')).rejects.toMatchObject({ code: 'ERR_RETRY_BUDGET_EXHAUSTED' });
    await client.close();
    const call = otel.spans().find((s) => s.name === 'GET' && parentOf(s) === undefined)!;
    expect(call.events.map((e) => e.name)).toContain('retry-budget-exhausted');
    expect(call.attributes['error.type']).toBe('ERR_RETRY_BUDGET_EXHAUSTED');
    expect((await otel.points('scaleout.client.retry_budget.refusals')).length).toBe(1);
    expect((await otel.metric('scaleout.client.retry_budget.refusals'))?.unit).toBe('{refusal}');
  });
});

describe('ServiceClient decisions: deadline and instance', () => {
  it('records the deadline left on each attempt, within the deadline set', async () => {
    script = [503];
    const client = new ServiceClient({ baseUrl: base }, { ...fast, deadlineMs: 5_000 });
    await client.get('/deadline');
    await client.close();
    const attempts = otel.spans().filter((s) => typeof s.attributes['url.full'] === 'string');
    expect(attempts).toHaveLength(2);
    for (const a of attempts) {
      const left = a.attributes['scaleout.deadline.remaining_ms'] as number;
      expect(left).toBeGreaterThan(0);
      expect(left).toBeLessThanOrEqual(5_000);
    }
  });

  it('records on each attempt the instance picked, the one the request reached', async () => {
    const other: IncomingHttpHeaders[] = [];
    const second = createServer((req, res) => {
      other.push(req.headers);
      res.statusCode = 503;
      res.end();
    });
    second.listen(0, '127.0.0.1');
    await new Promise((r) => second.once('listening', r));
    const secondUrl = `http://127.0.0.1:${(second.address() as AddressInfo).port}`;
    const registry = new ServiceRegistry({ slowStartMs: 0 });
    await registry.register('svc', base);
    await registry.register('svc', secondUrl);
    const ids = new Map((await registry.instances('svc')).map((s) => [s.id, s.url]));
    const client = new ServiceClient(
      { service: 'svc', registry },
      { ...fast, retry: { ...fast.retry, maxAttempts: 6 } },
    );
    try {
      for (let i = 0; i < 4; i++) await client.get(`/pick/${i}`);
    } finally {
      await client.close();
      await registry.close();
      second.close();
    }
    const attempts = otel.spans().filter((s) => typeof s.attributes['url.full'] === 'string');
    const bySpan = new Map<string, 'first' | 'second'>();
    for (const h of seen) bySpan.set(traceparentOf(h).spanId, 'first');
    for (const h of other) bySpan.set(traceparentOf(h).spanId, 'second');
    expect(attempts.length).toBe(seen.length + other.length);
    expect(other.length).toBeGreaterThan(0);
    for (const a of attempts) {
      const id = String(a.attributes['scaleout.instance.id']);
      const reached = bySpan.get(a.spanContext().spanId);
      const url = String(a.attributes['url.full']);
      expect(url.startsWith(reached === 'first' ? base : secondUrl)).toBe(true);
      expect(ids.get(id)).toBe(reached === 'first' ? base : secondUrl);
    }
  });
});

describe('ServiceClient metrics', () => {
  it('records http.client.request.duration per attempt, in seconds, with the conventions buckets', async () => {
    script = [503];
    const client = new ServiceClient({ baseUrl: base }, fast);
    await client.get('/m');
    await client.close();
    const m = await otel.metric('http.client.request.duration');
    expect(m?.unit).toBe('s');
    expect(m?.boundaries).toEqual([...DURATION_BUCKETS_SECONDS]);
    const byStatus = new Map(
      m!.points.map((p) => [p.attributes['http.response.status_code'], p.value as { count: number }]),
    );
    expect(byStatus.get(503)?.count).toBeGreaterThanOrEqual(1);
    expect(byStatus.get(200)?.count).toBeGreaterThanOrEqual(1);
    const failed = m!.points.find((p) => p.attributes['http.response.status_code'] === 503)!;
    expect(failed.attributes).toMatchObject({
      'http.request.method': 'GET',
      'server.address': '127.0.0.1',
      'error.type': '503',
    });
  });
});
