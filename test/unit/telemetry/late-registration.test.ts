/**
 * Primitives built before the application registers the SDK trace once it
 * is registered, and do nothing before: no span, no trace header.
 */
import { SpanKind, trace } from '@opentelemetry/api';
import { afterAll, describe, expect, it } from 'vitest';
import { DistributedCache } from '../../../src/cache/distributed-cache.js';
import { MessageQueue } from '../../../src/queue/message-queue.js';
import { type InstalledOtel, installOtel } from '../../helpers/otel.js';

let otel: InstalledOtel | undefined;
afterAll(() => otel?.uninstall());

describe('an SDK registered after the primitive was built', () => {
  it('is used from then on; before, nothing is written', async () => {
    const queue = new MessageQueue();
    const headers: Array<Record<string, string>> = [];
    await queue.consume('late', (_m, c) => void headers.push({ ...c.headers }));
    await queue.publish('late', {});
    await expect.poll(() => headers.length).toBe(1);
    expect(headers[0]).toEqual({});

    otel = installOtel();
    await trace.getTracer('test').startActiveSpan('p', async (p) => {
      await queue.publish('late', {});
      p.end();
    });
    await expect.poll(() => headers.length).toBe(2);
    await queue.close();
    expect(headers[1]!.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(otel.spans().filter((s) => s.kind === SpanKind.PRODUCER)).toHaveLength(1);
    expect((await otel.points('messaging.process.duration')).length).toBeGreaterThan(0);
  });
});

describe('cache counters and an SDK registered after the cache was built', () => {
  it('count from then on, after at most 64 reads', async () => {
    await otel?.uninstall(); // registered by the test above
    otel = undefined;
    const cache = new DistributedCache();
    await cache.set('k', 1, { ttlMs: 60_000 });
    for (let i = 0; i < 10; i++) await cache.get('k'); // no SDK: nothing to count
    otel = installOtel();
    for (let i = 0; i < 200; i++) await cache.get('k');
    await cache.close();
    const hits = (await otel.points('scaleout.cache.hits')).reduce((n, p) => n + (p.value as number), 0);
    expect(hits).toBeGreaterThanOrEqual(200 - 64);
    expect(hits).toBeLessThanOrEqual(200);
  });

  it('count getMany from then on, after at most 64 calls, each key once', async () => {
    await otel?.uninstall();
    otel = undefined;
    const cache = new DistributedCache();
    await cache.setMany([
      { key: 'a', value: 1, ttlMs: 60_000 },
      { key: 'b', value: 2, ttlMs: 60_000 },
    ]);
    for (let i = 0; i < 10; i++) await cache.getMany(['a', 'b', 'none']); // no SDK: nothing to count
    otel = installOtel();
    for (let i = 0; i < 100; i++) await cache.getMany(['a', 'b', 'none']);
    await cache.close();
    const sum = async (name: string) =>
      (await otel!.points(name)).reduce((n, p) => n + (p.value as number), 0);
    const hits = await sum('scaleout.cache.hits');
    const misses = await sum('scaleout.cache.misses');
    expect(hits).toBeGreaterThanOrEqual(2 * (100 - 64));
    expect(hits).toBeLessThanOrEqual(2 * 100);
    expect(misses * 2).toBe(hits);
  });
});
