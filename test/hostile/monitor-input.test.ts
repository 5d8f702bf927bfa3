/**
 * Property tests: every public method and constructor of PerformanceMonitor
 * (and its framework helpers) fed hostile input: label names and values
 * (names that normalise alike, reserved names, newlines, quotes,
 * backslashes, lone surrogates, huge), metric names, help text, durations
 * (NaN, Infinity, -0, huge), status codes, bare numbers, unknown keys,
 * every JavaScript type, too many series. Each call returns or fails with
 * a typed ScaleoutError; and whatever was accepted, `promtool check
 * metrics` accepts the exposition and getStats()/toJSON() stay numbers.
 */
import { EventEmitter } from 'node:events';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  metricsHandler as expressMetrics,
  monitorMiddleware as expressMonitor,
} from '../../src/monitor/express-middleware.js';
import { monitorPlugin } from '../../src/monitor/fastify-plugin.js';
import { monitorMiddleware as koaMonitor } from '../../src/monitor/koa-middleware.js';
import { PerformanceMonitor } from '../../src/monitor/performance-monitor.js';
import { promtoolCheck } from '../helpers/promtool.js';
import {
  count,
  hostile,
  hostileKey,
  hostileOptions,
  hostileString,
  tried,
  typedOutcome,
} from './registry-monitor-values.js';

const MONITOR_KEYS = [
  'windowMs',
  'windowSlots',
  'maxSeries',
  'errorStatusMin',
  'metricPrefix',
  'bucketsMs',
  'eventLoop',
  'eventLoopResolutionMs',
  'reportIntervalMs',
  'onReport',
  'logger',
  'clock',
  'now',
  'scrapeSliceMs',
];

const duration = fc.oneof(
  fc.double({ min: 0, max: 200_000, noNaN: true }),
  fc.constantFrom(
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    -0,
    -1,
    1e308,
    2 ** 53 + 2,
    Number.MIN_VALUE,
  ),
  hostile,
);
const status = fc.oneof(fc.integer({ min: 100, max: 599 }), fc.integer(), hostile);
const labelName = fc.oneof(
  fc.constantFrom(
    'a-b',
    'a_b',
    'a.b',
    'le',
    'quantile',
    '__name__',
    '__x',
    'userId',
    'U__a_2d_b',
    '1st',
    '',
    'ünï',
    'x'.repeat(200),
  ),
  hostileKey,
  hostileString,
);
const labelValue = fc.oneof(hostileString, fc.integer(), fc.boolean(), fc.constant(undefined), hostile);
const labels = fc.oneof(
  { weight: 4, arbitrary: fc.dictionary(labelName, labelValue, { maxKeys: 6 }) },
  {
    weight: 1,
    arbitrary: fc.dictionary(fc.string({ maxLength: 3 }), fc.string(), { minKeys: 30, maxKeys: 40 }),
  },
  { weight: 1, arbitrary: hostile },
);
const metricName = fc.oneof(
  fc.constantFrom(
    'hit',
    'breakerStateChange',
    'load_ms',
    'counter',
    'minutes',
    'a-b',
    'overflow',
    'invalid_samples',
    'x'.repeat(200),
  ),
  hostileString,
  hostile,
);
const mapping = fc.dictionary(
  fc.oneof(
    fc.constantFrom('hit', 'call', 'retry'),
    metricName.filter((n): n is string => typeof n === 'string'),
  ),
  fc.oneof(
    fc.record(
      {
        durationMs: fc.oneof(
          duration.map((d) => () => d),
          hostile,
        ),
        labels: fc.oneof(
          labels.map((l) => () => l),
          fc.constant(() => {
            throw new Error('mapping bug');
          }),
          hostile,
        ),
        name: metricName,
        help: fc.oneof(hostileString, hostile),
      },
      { requiredKeys: [] },
    ),
    hostileOptions(['durationMs', 'labels', 'name', 'help']),
  ),
  { maxKeys: 4 },
);

/** Mappings observe() accepts (event names the test emits), with hostile labels and durations at event time. */
const acceptedMapping = fc.dictionary(
  fc.constantFrom('hit', 'call', 'retry', 'breakerStateChange', 'a-b'),
  fc.record(
    {
      durationMs: duration.map((d) => () => d),
      labels: fc.oneof(
        { weight: 5, arbitrary: labels.map((l) => () => l) },
        {
          weight: 1,
          arbitrary: fc.constant(() => {
            throw new Error('mapping bug');
          }),
        },
      ),
      name: fc.constantFrom('hits', 'calls_made', 'retryCount', 'a-b-c'),
      help: fc.oneof(
        hostileString.filter((h) => h.trim() !== '' && h.length <= 1024),
        fc.constant('Help with "quotes" \\ and\nnewline'),
      ),
    },
    { requiredKeys: ['labels'] },
  ),
  { minKeys: 1, maxKeys: 3 },
);

/** promtool must accept the exposition, and the stats must stay JSON numbers. */
async function checkOutputs(monitor: PerformanceMonitor): Promise<void> {
  const text = await monitor.metrics();
  const { status: code, output } = promtoolCheck(text);
  expect(output, text.slice(0, 2_000)).toBe('');
  expect(code).toBe(0);
  const stats = JSON.parse(JSON.stringify(monitor.toJSON()));
  for (const key of [
    'requestCount',
    'errorsCount',
    'errorRate',
    'avgResponseTime',
    'p95ResponseTime',
    'p99ResponseTime',
    'requestsPerSecond',
    'uptime',
  ]) {
    expect(typeof stats[key], key).toBe('number');
  }
}

afterAll(() => {
  // The closing note of the suite: inputs tried per primitive.
  console.log(`monitor hostile inputs tried: ${JSON.stringify(Object.fromEntries(tried))}`);
});

describe('PerformanceMonitor under hostile input', () => {
  it('constructor: a monitor, or a typed error', async () => {
    await fc.assert(
      fc.asyncProperty(hostileOptions(MONITOR_KEYS), async (options) => {
        count('PerformanceMonitor constructor');
        let monitor: PerformanceMonitor | undefined;
        await typedOutcome(() => {
          monitor = new PerformanceMonitor(options as never);
        });
        if (monitor !== undefined) {
          await typedOutcome(() => checkOutputs(monitor!), 15_000);
          await monitor.close();
        }
      }),
      { numRuns: 150 },
    );
  });

  it('the request path (recordRequest, recordResponse, bind, track, middleware): typed errors only, promtool accepts the result', async () => {
    const call = fc.oneof(
      fc.tuple(
        fc.constant('recordResponse'),
        fc.oneof(fc.constant('start'), hostile),
        status,
        fc.oneof(fc.record({ method: hostile, route: hostile }, { requiredKeys: [] }), hostile),
      ),
      fc.tuple(
        fc.constant('bind'),
        fc.oneof(fc.record({ method: hostile, route: hostile, status }, { requiredKeys: [] }), hostile),
        duration,
      ),
      fc.tuple(fc.constant('middleware'), hostileOptions(['route', 'responseTimeHeader'])),
      fc.tuple(fc.constant('handler'), fc.oneof(fc.constant(undefined), hostile)),
      fc.tuple(fc.constant('elapsedMs'), hostile),
      fc.tuple(fc.constant('frameworks'), hostile, hostileOptions(['route', 'responseTimeHeader'])),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 50 }),
        fc.array(call, { minLength: 1, maxLength: 12 }),
        async (maxSeries, calls) => {
          const monitor = new PerformanceMonitor({ eventLoop: false, maxSeries });
          try {
            for (const [method, a, b, c] of calls) {
              count(`monitor.${method}`);
              await typedOutcome(() => {
                switch (method) {
                  case 'recordResponse':
                    return monitor.recordResponse(
                      a === 'start' ? monitor.recordRequest() : (a as number),
                      b as number,
                      c as never,
                    );
                  case 'bind':
                    return monitor.bind(a as never).record(b as number);
                  case 'middleware':
                    return monitor.middleware(a as never);
                  case 'handler':
                    return (monitor.handler as (...x: unknown[]) => unknown)(a);
                  case 'elapsedMs':
                    return monitor.elapsedMs(a as number);
                  default:
                    expressMonitor(monitor, b as never);
                    expressMetrics(a as never);
                    monitorPlugin(monitor, b as never);
                    return koaMonitor(monitor, b as never);
                }
              });
            }
            await checkOutputs(monitor);
          } finally {
            await monitor.close();
          }
        },
      ),
      { numRuns: 150 },
    );
  }, 120_000);

  it('observe() with hostile sources, mappings, labels, durations and help: typed errors at the call, promtool accepts every exposition', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 20 }),
        fc.array(
          fc.tuple(
            fc.oneof(fc.constantFrom('client', 'cache', 'monitor', 'service-client', 'myApp'), metricName),
            fc.oneof({ weight: 2, arbitrary: acceptedMapping }, { weight: 1, arbitrary: mapping }),
          ),
          {
            minLength: 1,
            maxLength: 3,
          },
        ),
        fc.array(fc.tuple(fc.constantFrom('hit', 'call', 'retry', 'breakerStateChange', 'a-b'), hostile), {
          maxLength: 20,
        }),
        async (maxSeries, observes, emits) => {
          const monitor = new PerformanceMonitor({ eventLoop: false, maxSeries });
          const emitter = new EventEmitter();
          try {
            for (const [source, map] of observes) {
              count('monitor.observe');
              const refused = await typedOutcome(() =>
                monitor.observe(emitter, source as string, map as never),
              );
              if (refused === undefined) count('monitor.observe (accepted)');
              await typedOutcome(() => monitor.observeCache(emitter as never, map as never));
            }
            for (const [event, payload] of emits) {
              count('observed event');
              emitter.emit(event, payload);
            }
            // The same label sets again: no new series, still valid.
            for (const [event, payload] of emits) emitter.emit(event, payload);
            await checkOutputs(monitor);
          } finally {
            await monitor.close();
          }
        },
      ),
      { numRuns: 200 },
    );
  }, 120_000);

  it('too many series, in every family at once: capped, overflow series, promtool accepts', async () => {
    count('series flood');
    const monitor = new PerformanceMonitor({ eventLoop: false, maxSeries: 100 });
    const emitter = new EventEmitter();
    monitor.observe(emitter, 'flood', {
      x: { labels: (e: unknown) => ({ id: String(e), 'i-d': String(e) }), durationMs: () => 1 },
    });
    for (let i = 0; i < 5_000; i++) {
      emitter.emit('x', `v${i}\n"\\`);
      monitor.recordResponse(monitor.recordRequest(), 200 + (i % 400), { route: `/r/${i}\n"` });
    }
    await checkOutputs(monitor);
    expect(monitor.getStats().requestCount).toBe(5_000);
    await monitor.close();
  });
});
