/**
 * `tracerProvider` / `meterProvider` given to a primitive override the
 * global ones: its spans and metrics go to the providers given, none to
 * the globally registered SDK.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DistributedCache } from '../../../src/cache/distributed-cache.js';
import { ServiceClient } from '../../../src/client/service-client.js';
import { DistributedLock } from '../../../src/lock/distributed-lock.js';
import { MessageQueue } from '../../../src/queue/message-queue.js';
import { installOtel, TestMetricReader } from '../../helpers/otel.js';

const otel = installOtel();
let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((_req, res) => res.end('{}'));
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.close();
  await otel.uninstall();
});

/** A tracer and a meter provider of one primitive's own. */
function ownProviders() {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const reader = new TestMetricReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    tracerProvider,
    meterProvider,
    spans: () => exporter.getFinishedSpans().map((s) => s.name),
    async metrics(): Promise<string[]> {
      const { resourceMetrics } = await reader.collect();
      return resourceMetrics.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.descriptor.name));
    },
    shutdown: () => Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]),
  };
}

/** The names of the metrics the global SDK holds now. */
async function globalMetrics(): Promise<string[]> {
  const { resourceMetrics } = await otel.reader.collect();
  return resourceMetrics.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.descriptor.name));
}

describe('providers given per primitive', () => {
  it('ServiceClient: its spans and http.client.request.duration go to the providers given', async () => {
    const own = ownProviders();
    const client = new ServiceClient(
      { baseUrl: base },
      { tracerProvider: own.tracerProvider, meterProvider: own.meterProvider },
    );
    await client.get('/own');
    await client.close();
    expect(own.spans()).toEqual(['GET', 'GET']);
    expect(await own.metrics()).toContain('http.client.request.duration');
    expect(otel.spans()).toEqual([]);
    expect(await globalMetrics()).not.toContain('http.client.request.duration');
    await own.shutdown();
  });

  it('MessageQueue: its spans and messaging durations go to the providers given', async () => {
    const own = ownProviders();
    const queue = new MessageQueue({ tracerProvider: own.tracerProvider, meterProvider: own.meterProvider });
    let handled = 0;
    await queue.consume('own', () => void handled++);
    await queue.publish('own', { n: 1 });
    await expect.poll(() => own.spans().length).toBe(2);
    await queue.close();
    expect(handled).toBe(1);
    expect(own.spans().sort()).toEqual(['process own', 'send own']);
    expect(await own.metrics()).toEqual(
      expect.arrayContaining(['messaging.process.duration', 'messaging.client.operation.duration']),
    );
    expect(otel.spans()).toEqual([]);
    expect(await globalMetrics()).not.toContain('messaging.process.duration');
    await own.shutdown();
  });

  it('DistributedCache: its load spans and counters go to the providers given', async () => {
    const own = ownProviders();
    const cache = new DistributedCache({
      tracerProvider: own.tracerProvider,
      meterProvider: own.meterProvider,
    });
    await cache.getOrSet('k', async () => 1, { ttlMs: 1_000 });
    await cache.get('k');
    await cache.getMany(['k', 'absent']);
    await cache.close();
    expect(own.spans()).toEqual(['load cache']);
    expect(await own.metrics()).toEqual(
      expect.arrayContaining([
        'scaleout.cache.load.duration',
        'scaleout.cache.hits',
        'scaleout.cache.misses',
      ]),
    );
    expect(otel.spans()).toEqual([]);
    expect(await globalMetrics()).not.toContain('scaleout.cache.hits');
    await own.shutdown();
  });

  it('DistributedLock: its acquire spans and the wait metric go to the providers given', async () => {
    const own = ownProviders();
    const locks = new DistributedLock({
      ttlMs: 10_000,
      tracerProvider: own.tracerProvider,
      meterProvider: own.meterProvider,
    });
    const first = await locks.acquire('own', { waitMs: 1_000 });
    setTimeout(() => void locks.release(first), 10);
    await locks.release(await locks.acquire('own', { waitMs: 2_000 }));
    await locks.close();
    expect(own.spans()).toContain('acquire lock');
    expect(await own.metrics()).toContain('scaleout.lock.wait.duration');
    expect(otel.spans()).toEqual([]);
    expect(await globalMetrics()).not.toContain('scaleout.lock.wait.duration');
    await own.shutdown();
  });
});
