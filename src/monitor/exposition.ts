import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { EventLoopHealth } from './event-loop-health.js';
import type { EventObserver } from './event-observer.js';
import { type ExposedBuckets, ExpositionWriter, escapeHelp, formatValue } from './prometheus-text.js';
import type { SeriesTable } from './series-table.js';

/** @internal What one scrape reads from its monitor. */
export interface ExpositionInputs {
  readonly table: SeriesTable;
  readonly events: EventObserver;
  readonly eventLoop: EventLoopHealth;
  readonly buckets: ExposedBuckets;
  /** Prefix of every metric name. */
  readonly prefix: string;
  /** Time budget of one synchronous slice, ms. */
  readonly sliceMs: number;
  /** The monitor's clock. */
  readonly now: () => number;
  readonly startedAt: number;
  readonly inFlight: number;
  readonly aborted: number;
}

/**
 * @internal The Prometheus text exposition of a monitor as UTF-8 chunks:
 * the gauges and counters of the monitor itself, the request-duration
 * histogram (one series at a time), then every observed event family. At
 * most `sliceMs` of synchronous work between yields to the event loop
 * (`setImmediate`); each series is written whole inside one slice, so it is
 * consistent. The clock is read every 8 series, not every series.
 */
export async function* monitorExposition(inputs: ExpositionInputs): AsyncGenerator<Buffer> {
  const { sliceMs, now } = inputs;
  const writer = new ExpositionWriter(inputs.buckets);
  let sliceStart = now();
  writer.text(gaugesText(inputs));
  const name = `${inputs.prefix}http_request_duration_seconds`;
  writer.text(
    `# HELP ${name} Duration of HTTP requests by method, route template and status.\n# TYPE ${name} histogram\n`,
  );
  const series = inputs.table.allSeries();
  for (let i = 0; i < series.length; i++) {
    const s = series[i]!;
    writer.histogram(name, s.labelText, s.histogram);
    if ((i & 7) === 7 && now() - sliceStart >= sliceMs) {
      yield* writer.take();
      await yieldToLoop();
      sliceStart = now();
    }
  }
  for (const family of inputs.events.families.values()) {
    for (const _ of family.write(writer)) {
      if (now() - sliceStart >= sliceMs) {
        yield* writer.take();
        await yieldToLoop();
        sliceStart = now();
      }
    }
  }
  yield* writer.take();
}

/** The monitor's own gauges and counters, and the event loop's. */
function gaugesText(inputs: ExpositionInputs): string {
  const { prefix: p, table } = inputs;
  const lines: string[] = [];
  const gauge = (name: string, help: string, type: 'gauge' | 'counter', value: number) => {
    lines.push(`# HELP ${p}${name} ${escapeHelp(help)}`, `# TYPE ${p}${name} ${type}`);
    lines.push(`${p}${name} ${formatValue(value)}`);
  };
  gauge('http_requests_in_flight', 'HTTP requests started and not finished.', 'gauge', inputs.inFlight);
  gauge(
    'http_requests_aborted_total',
    'HTTP requests whose client went away before the response finished.',
    'counter',
    inputs.aborted,
  );
  gauge(
    'scaleout_monitor_invalid_samples_total',
    'Durations refused as not finite non-negative numbers.',
    'counter',
    table.invalid,
  );
  gauge(
    'scaleout_monitor_overflow_total',
    'Records folded into the __overflow__ series because maxSeries was reached.',
    'counter',
    table.overflowed,
  );
  gauge(
    'scaleout_monitor_observe_errors_total',
    'Events observe() dropped: a mapping threw or returned unusable labels.',
    'counter',
    inputs.events.errors,
  );
  gauge('scaleout_monitor_series', 'Request-duration series held.', 'gauge', table.series.length);
  gauge(
    'scaleout_monitor_uptime_seconds',
    'Seconds since the monitor started.',
    'gauge',
    (inputs.now() - inputs.startedAt) / 1000,
  );
  const loop = inputs.eventLoop.delay;
  if (loop !== undefined) {
    gauge('nodejs_eventloop_lag_p50_seconds', 'Median event-loop delay.', 'gauge', loop.percentile(50) / 1e9);
    gauge(
      'nodejs_eventloop_lag_p99_seconds',
      '99th percentile event-loop delay.',
      'gauge',
      loop.percentile(99) / 1e9,
    );
    gauge('nodejs_eventloop_lag_max_seconds', 'Largest event-loop delay.', 'gauge', loop.max / 1e9);
  }
  gauge(
    'nodejs_eventloop_utilization_ratio',
    'Event-loop utilisation since the previous scrape or getStats().',
    'gauge',
    inputs.eventLoop.utilization(),
  );
  return `${lines.join('\n')}\n`;
}
