/**
 * Primitives built before the application registers the SDK trace once it
 * is registered, and do nothing before: no span, no trace header.
 */
import { SpanKind, trace } from '@opentelemetry/api';
import { afterAll, describe, expect, it } from 'vitest';
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
