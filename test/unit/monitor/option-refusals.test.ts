import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { isScaleoutError } from '../../../src/errors.js';
import {
  metricsHandler as expressMetrics,
  monitorMiddleware as expressMonitor,
} from '../../../src/monitor/express-middleware.js';
import { metricsHandler as fastifyMetrics, monitorPlugin } from '../../../src/monitor/fastify-plugin.js';
import {
  metricsHandler as koaMetrics,
  monitorMiddleware as koaMonitor,
} from '../../../src/monitor/koa-middleware.js';
import { PerformanceMonitor } from '../../../src/monitor/performance-monitor.js';

const monitors: PerformanceMonitor[] = [];
function make(): PerformanceMonitor {
  const m = new PerformanceMonitor({ eventLoop: false });
  monitors.push(m);
  return m;
}
afterEach(async () => {
  for (const m of monitors.splice(0)) await m.close();
});

function refusal(run: () => unknown): { code?: string; option?: string; suggestion?: string } {
  try {
    run();
  } catch (err) {
    expect(isScaleoutError(err), String(err)).toBe(true);
    return err as { code?: string; option?: string; suggestion?: string };
  }
  throw new Error('expected a typed refusal');
}

describe('every options object of the monitor refuses unknown keys, non-plain objects and bare numbers', () => {
  it('the constructor', () => {
    expect(refusal(() => new PerformanceMonitor({ windowMS: 60_000 } as never))).toMatchObject({
      code: 'ERR_INVALID_OPTIONS',
      option: 'windowMS',
      suggestion: 'windowMs',
    });
    expect(refusal(() => new PerformanceMonitor({ interval: 60_000 } as never)).suggestion).toBe(
      'reportIntervalMs',
    );
    expect(refusal(() => new PerformanceMonitor(60_000 as never))).toMatchObject({
      code: 'ERR_INVALID_OPTIONS',
      option: 'reportIntervalMs',
    });
    expect(refusal(() => new PerformanceMonitor([] as never)).code).toBe('ERR_INVALID_OPTIONS');
    for (const metricPrefix of ['myApp_', 'a:', '__x_', 'app_ms_', 'Ü_']) {
      expect(refusal(() => new PerformanceMonitor({ metricPrefix })).option, metricPrefix).toBe(
        'metricPrefix',
      );
    }
  });

  it('observe() mappings and the observeCache/observeClient presets', () => {
    const monitor = make();
    const e = new EventEmitter();
    expect(refusal(() => monitor.observe(e, 'src', { hit: { label: () => ({}) } as never })).suggestion).toBe(
      'labels',
    );
    expect(refusal(() => monitor.observe(e, 'src', { hit: 5 as never })).code).toBe('ERR_INVALID_OPTIONS');
    expect(refusal(() => monitor.observe(e, 'src', { hit: { durationMs: 5 as never } })).code).toBe(
      'ERR_INVALID_ARGUMENT',
    );
    expect(
      refusal(() => monitor.observeCache({ on: () => () => {} }, { namespace: ['users'] } as never))
        .suggestion,
    ).toBe('namespaces');
    expect(refusal(() => monitor.observeCache({ on: () => () => {} }, 5 as never)).code).toBe(
      'ERR_INVALID_OPTIONS',
    );
    expect(
      refusal(() =>
        (monitor.observeClient as (...a: unknown[]) => unknown)({ on: () => () => {} }, { service: 'x' }),
      ).code,
    ).toBe('ERR_INVALID_OPTIONS');
    // Nothing was subscribed by a refused call.
    expect(e.eventNames()).toEqual([]);
  });

  it('middleware options for node:http/Express, Fastify and Koa; handler options; request labels', () => {
    const monitor = make();
    expect(refusal(() => monitor.middleware({ routes: () => 'x' } as never))).toMatchObject({
      code: 'ERR_INVALID_OPTIONS',
      option: 'routes',
      suggestion: 'route',
    });
    expect(refusal(() => monitor.middleware(5 as never)).code).toBe('ERR_INVALID_OPTIONS');
    expect(refusal(() => monitor.middleware({ route: '/x' } as never)).option).toBe('route');
    expect(refusal(() => monitor.middleware({ responseTimeHeader: 'yes' } as never)).option).toBe(
      'responseTimeHeader',
    );
    expect(refusal(() => expressMonitor(monitor, { header: false } as never)).suggestion).toBe(
      'responseTimeHeader',
    );
    expect(refusal(() => expressMonitor({ route: () => 'x' } as never)).code).toBe('ERR_INVALID_ARGUMENT');
    expect(refusal(() => monitorPlugin(monitor, { rout: () => 'x' } as never)).suggestion).toBe('route');
    expect(refusal(() => koaMonitor(monitor, { responseTimeHeaders: true } as never)).suggestion).toBe(
      'responseTimeHeader',
    );
    expect(refusal(() => (monitor.handler as (...a: unknown[]) => unknown)({ format: 'json' })).code).toBe(
      'ERR_INVALID_OPTIONS',
    );
    for (const handler of [expressMetrics, fastifyMetrics, koaMetrics]) {
      expect(
        refusal(() => (handler as (...a: unknown[]) => unknown)(monitor, { path: '/metrics' })).code,
      ).toBe('ERR_INVALID_OPTIONS');
      expect(refusal(() => (handler as (...a: unknown[]) => unknown)(undefined)).code).toBe(
        'ERR_INVALID_ARGUMENT',
      );
    }
    const start = monitor.recordRequest();
    expect(refusal(() => monitor.recordResponse(start, 200, { path: '/x' } as never))).toMatchObject({
      option: 'path',
      suggestion: 'route',
    });
    expect(
      refusal(() => monitor.bind({ method: 'GET', route: '/x', statusCode: 200 } as never)).suggestion,
    ).toBe('status');
    expect(monitor.getStats().totalRequests).toBe(0); // a refused record records nothing
  });
});

describe('the deprecated now option', () => {
  it('must answer a finite number: a string or NaN would make every duration and the uptime NaN (null in JSON)', () => {
    for (const now of [() => 'fn', () => Number.NaN, () => Number.POSITIVE_INFINITY, () => undefined]) {
      expect(() => new PerformanceMonitor({ now: now as never })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', option: 'now' }),
      );
    }
    expect(
      () =>
        new PerformanceMonitor({
          now: () => {
            throw new Error('clock broke');
          },
        }),
    ).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', option: 'now' }));
  });
});
