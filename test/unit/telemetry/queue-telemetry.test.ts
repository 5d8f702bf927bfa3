import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MemoryQueueAdapter } from '../../../src/adapters/memory/memory-queue-adapter.js';
import type { QueueAdapter } from '../../../src/contracts/queue.js';
import { MessageQueue } from '../../../src/queue/message-queue.js';
import { DURATION_BUCKETS_SECONDS } from '../../../src/telemetry/semconv.js';
import { installOtel, parentOf } from '../../helpers/otel.js';

const otel = installOtel();
afterAll(() => otel.uninstall());
afterEach(() => otel.exporter.reset());

const fast = { retryBaseMs: 1, retryMaxMs: 2 } as const;

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(check()).toBe(true);
}

const consumerSpans = () => otel.spans().filter((s) => s.kind === SpanKind.CONSUMER);

describe('MessageQueue spans', () => {
  it('opens a PRODUCER span, carries its context in the headers, links the CONSUMER span to it', async () => {
    const queue = new MessageQueue();
    const seen: Array<{ headers: Record<string, string>; active: string | undefined }> = [];
    await queue.consume('orders', (_m, c) => {
      seen.push({ headers: { ...c.headers }, active: trace.getActiveSpan()?.spanContext().spanId });
    });
    let id = '';
    await trace.getTracer('test').startActiveSpan('request', async (parent) => {
      id = await queue.publish('orders', { n: 1 });
      parent.end();
    });
    await until(() => consumerSpans().length === 1);
    await queue.close();
    const parent = otel.spans().find((s) => s.name === 'request')!;
    const producer = otel.spans().find((s) => s.kind === SpanKind.PRODUCER)!;
    const consumer = consumerSpans()[0]!;
    expect(producer.name).toBe('send orders');
    expect(parentOf(producer)).toBe(parent.spanContext().spanId);
    expect(producer.attributes).toEqual({
      'messaging.system': 'scaleout_memory',
      'messaging.destination.name': 'orders',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'publish',
      'messaging.message.id': id,
    });
    expect(seen[0]!.headers.traceparent).toBe(
      `00-${producer.spanContext().traceId}-${producer.spanContext().spanId}-01`,
    );
    // Linked by default: a new trace, with a link to the producer's span.
    expect(consumer.name).toBe('process orders');
    expect(parentOf(consumer)).toBeUndefined();
    expect(consumer.links.map((l) => l.context.spanId)).toEqual([producer.spanContext().spanId]);
    expect(consumer.attributes).toMatchObject({
      'messaging.system': 'scaleout_memory',
      'messaging.destination.name': 'orders',
      'messaging.consumer.group.name': 'default',
      'messaging.operation.type': 'process',
      'messaging.message.id': id,
      'scaleout.messaging.delivery_count': 1,
      'scaleout.outcome': 'ack',
    });
    // The handler runs in the consumer span's context.
    expect(seen[0]!.active).toBe(consumer.spanContext().spanId);
  });

  it("continues the producer's trace with consumerTrace: 'child', across a retry copy", async () => {
    const queue = new MessageQueue({ ...fast, consumerTrace: 'child' });
    let calls = 0;
    await queue.consume('pay', () => {
      calls++;
      if (calls === 1) throw new Error('flaky');
    });
    await trace.getTracer('test').startActiveSpan('request', async (parent) => {
      await queue.publish('pay', { n: 1 });
      parent.end();
    });
    await until(() => consumerSpans().length === 2);
    await queue.close();
    const producer = otel.spans().find((s) => s.kind === SpanKind.PRODUCER)!;
    const [first, second] = consumerSpans();
    for (const c of [first!, second!]) {
      expect(c.spanContext().traceId).toBe(producer.spanContext().traceId);
      expect(parentOf(c)).toBe(producer.spanContext().spanId);
    }
    expect(first!.attributes['scaleout.outcome']).toBe('retry');
    expect(first!.attributes['error.type']).toBe('Error');
    expect(first!.events.map((e) => e.name)).toEqual(['retry']);
    expect(first!.events[0]!.attributes?.['scaleout.retry.delay_ms']).toEqual(expect.any(Number));
    expect(second!.attributes['scaleout.messaging.delivery_count']).toBe(2);
    expect(second!.attributes['scaleout.outcome']).toBe('ack');
  });

  it('records dead-lettering as an event', async () => {
    const queue = new MessageQueue({ ...fast, maxDeliveries: 1 });
    await queue.consume('dl', () => {
      throw new Error('no');
    });
    await queue.publish('dl', { n: 1 });
    await until(() => consumerSpans().length === 1);
    await queue.close();
    const span = consumerSpans()[0]!;
    expect(span.attributes['scaleout.outcome']).toBe('dead-letter');
    expect(span.events.map((e) => [e.name, e.attributes])).toEqual([
      ['dead-letter', { reason: 'handler-error', 'messaging.destination.name': 'dl.dead' }],
    ]);
  });

  it('ignores foreign and hostile trace headers: the message is handled in a new trace', async () => {
    const adapter = new MemoryQueueAdapter();
    const queue = new MessageQueue({ adapter, consumerTrace: 'child' });
    const handled: string[] = [];
    await queue.consume('hostile', (_m, c) => void handled.push(c.id));
    const hostile: Array<Record<string, string>> = [
      { traceparent: 'garbage' },
      { traceparent: `00-${'0'.repeat(32)}-${'0'.repeat(16)}-01` },
      { traceparent: `ff-${'a'.repeat(32)}-${'b'.repeat(16)}-01` },
      { traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01-extra\u0000` },
      { traceparent: `00-${'a'.repeat(9000)}`, tracestate: 'x'.repeat(100_000) },
      { tracestate: '\u0000\u0001=;;,,', baggage: '%E0%A4%A=;;;===,,,' },
      { baggage: `${'k=v,'.repeat(5000)}` },
      { constructor: 'x', toString: 'y', hasOwnProperty: 'z' },
    ];
    let i = 0;
    for (const headers of hostile) {
      await adapter.publish('hostile', {
        id: `m${i++}`,
        body: '{}',
        headers,
        persistent: true,
        timestamp: Date.now(),
      });
    }
    await until(() => handled.length === hostile.length);
    await queue.close();
    for (const span of consumerSpans()) {
      expect(parentOf(span)).toBeUndefined();
      expect(span.links).toEqual([]);
      expect(span.attributes['scaleout.outcome']).toBe('ack');
    }
  });

  it('survives a propagator that throws: the message is still handled', async () => {
    const throwing = {
      inject: () => {
        throw new Error('inject');
      },
      extract: () => {
        throw new Error('extract');
      },
      fields: () => [],
    };
    propagation.disable();
    propagation.setGlobalPropagator(throwing);
    try {
      const queue = new MessageQueue();
      const got: unknown[] = [];
      await queue.consume('throwing', (m) => void got.push(m));
      await queue.publish('throwing', { n: 1 });
      await until(() => got.length === 1);
      await queue.close();
    } finally {
      propagation.disable();
      propagation.setGlobalPropagator(
        new CompositePropagator({
          propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
        }),
      );
    }
  });

  it('makes no span and writes no header with tracerProvider: false', async () => {
    const queue = new MessageQueue({ tracerProvider: false });
    const headers: Array<Record<string, string>> = [];
    await queue.consume('off', (_m, c) => void headers.push({ ...c.headers }));
    await trace.getTracer('test').startActiveSpan('p', async (p) => {
      await queue.publish('off', {});
      p.end();
    });
    await until(() => headers.length === 1);
    await queue.close();
    expect(headers[0]).toEqual({});
    expect(otel.spans().filter((s) => s.kind !== SpanKind.INTERNAL)).toEqual([]);
  });

  it('refuses bad telemetry options with a typed error', () => {
    for (const bad of [
      { tracerProvider: 1 },
      { meterProvider: {} },
      { consumerTrace: 'parent' },
      { tracer: {} },
    ]) {
      expect(() => new MessageQueue(bad as never)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }),
      );
    }
  });

  it('keeps baggage across the queue', async () => {
    const queue = new MessageQueue();
    const seen: Array<string | undefined> = [];
    await queue.consume('bag', () => {
      seen.push(propagation.getBaggage(context.active())?.getEntry('tenant')?.value);
    });
    const bag = propagation.createBaggage({ tenant: { value: 'acme' } });
    await context.with(propagation.setBaggage(context.active(), bag), () =>
      trace.getTracer('t').startActiveSpan('p', async (p) => {
        await queue.publish('bag', {});
        p.end();
      }),
    );
    await until(() => seen.length === 1);
    await queue.close();
    expect(seen).toEqual(['acme']);
  });
});

describe('MessageQueue metrics', () => {
  it('records messaging.process.duration and publish durations in seconds', async () => {
    const queue = new MessageQueue();
    let n = 0;
    await queue.consume('metered', () => void n++);
    await queue.publish('metered', {});
    await until(() => n === 1);
    await queue.close();
    const process = await otel.metric('messaging.process.duration');
    expect(process?.unit).toBe('s');
    expect(process?.boundaries).toEqual([...DURATION_BUCKETS_SECONDS]);
    expect(
      process?.points.find((p) => p.attributes['messaging.destination.name'] === 'metered')?.attributes,
    ).toEqual({
      'messaging.system': 'scaleout_memory',
      'messaging.destination.name': 'metered',
      'messaging.consumer.group.name': 'default',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
    });
    const send = await otel.metric('messaging.client.operation.duration');
    expect(send?.unit).toBe('s');
    expect(send?.points.some((p) => p.attributes['messaging.destination.name'] === 'metered')).toBe(true);
  });
});

describe('messaging.system', () => {
  /** The system a queue over `adapter` records on its PRODUCER span. */
  async function systemOf(adapter: QueueAdapter): Promise<unknown> {
    otel.exporter.reset();
    const queue = new MessageQueue({ adapter });
    await queue.publish('sys', { n: 1 });
    await queue.close();
    return otel.spans().find((s) => s.kind === SpanKind.PRODUCER)?.attributes['messaging.system'];
  }

  it('comes from the adapter contract field, not from the class name', async () => {
    expect(new MemoryQueueAdapter().messagingSystem).toBe('scaleout_memory');
    expect(await systemOf(new MemoryQueueAdapter())).toBe('scaleout_memory');
    // A wrapper that forwards the field reports the wrapped back end's system.
    const inner = new MemoryQueueAdapter();
    const wrapper: QueueAdapter = {
      messagingSystem: 'rabbitmq',
      publish: (t, m, o) => inner.publish(t, m, o),
      consume: (t, d, o) => inner.consume(t, d, o),
      close: () => inner.close(),
    };
    expect(await systemOf(wrapper)).toBe('rabbitmq');
    // A subclass keeps the field.
    class TracedMemory extends MemoryQueueAdapter {}
    expect(await systemOf(new TracedMemory())).toBe('scaleout_memory');
    // A custom adapter without the field is 'scaleout', whatever its class is called.
    class AmqpQueueAdapter extends MemoryQueueAdapter {
      override readonly messagingSystem = undefined as unknown as string;
    }
    expect(await systemOf(new AmqpQueueAdapter())).toBe('scaleout');
  });
});
