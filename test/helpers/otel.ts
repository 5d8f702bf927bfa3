/**
 * The official OpenTelemetry SDK, registered globally for one test file:
 * spans into an in-memory exporter, metrics into a reader the test
 * collects, W3C trace context and baggage propagation, and async-hooks
 * context. `uninstall()` restores the API's no-op globals.
 */
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { type DataPoint, type Histogram, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

/** A reader collected on demand. */
export class TestMetricReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

export interface InstalledOtel {
  exporter: InMemorySpanExporter;
  tracerProvider: BasicTracerProvider;
  meterProvider: MeterProvider;
  reader: TestMetricReader;
  spans(): ReadableSpan[];
  /** The data points of the metric `name`, collected now. */
  points(name: string): Promise<Array<DataPoint<number | Histogram>>>;
  /** The descriptor and points of `name`. */
  metric(
    name: string,
  ): Promise<
    { unit: string; boundaries: number[] | undefined; points: DataPoint<number | Histogram>[] } | undefined
  >;
  uninstall(): Promise<void>;
}

/** Registers the SDK globally (tracer, meter, propagator, context manager). */
export function installOtel(): InstalledOtel {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const reader = new TestMetricReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  const metric: InstalledOtel['metric'] = async (name) => {
    const { resourceMetrics } = await reader.collect();
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const m of scope.metrics) {
        if (m.descriptor.name !== name) continue;
        const first = m.dataPoints[0]?.value as Histogram | number | undefined;
        const boundaries = typeof first === 'object' ? first.buckets.boundaries : undefined;
        return {
          unit: m.descriptor.unit,
          boundaries,
          points: m.dataPoints as DataPoint<number | Histogram>[],
        };
      }
    }
    return undefined;
  };
  return {
    exporter,
    tracerProvider,
    meterProvider,
    reader,
    spans: () => exporter.getFinishedSpans(),
    metric,
    points: async (name) => (await metric(name))?.points ?? [],
    uninstall: async () => {
      trace.disable();
      metrics.disable();
      propagation.disable();
      context.disable();
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
}

/** The parent span id of a finished span (SDK 2.x: `parentSpanContext`). */
export function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}
