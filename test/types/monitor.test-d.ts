import { EventEmitter } from 'node:events';
import type { RequestHandler } from 'express';
import type { FastifyPluginCallback } from 'fastify';
import type { Middleware } from 'koa';
import { describe, expectTypeOf, it } from 'vitest';
import { metricsHandler as expressMetrics, monitorMiddleware as expressMonitor } from '../../src/express.js';
import { monitorPlugin } from '../../src/fastify.js';
import { PerformanceMonitor, type PerformanceStats, type RequestSeries } from '../../src/index.js';
import { monitorMiddleware as koaMonitor } from '../../src/koa.js';

describe('PerformanceMonitor types', () => {
  it('returns numbers (or null before any request), never strings', () => {
    const stats = new PerformanceMonitor().getStats();
    expectTypeOf(stats).toEqualTypeOf<PerformanceStats>();
    expectTypeOf(stats.totalRequests).toEqualTypeOf<number>();
    expectTypeOf(stats.p99Ms).toEqualTypeOf<number | null>();
    expectTypeOf(stats.statusCodes).toEqualTypeOf<Record<string, number>>();
  });

  it('types observe() mappings by the event payloads', () => {
    const monitor = new PerformanceMonitor();
    type Events = { request: { durationMs: number; outcome: 'ok' | 'error' }; retry: { attempt: number } };
    monitor.observe<Events>(new EventEmitter(), 'client', {
      request: {
        durationMs: (e) => {
          expectTypeOf(e).toEqualTypeOf<Events['request']>();
          return e.durationMs;
        },
        labels: (e) => ({ outcome: e.outcome }),
      },
      // @ts-expect-error an event that is not in the map
      nope: {},
    });
    expectTypeOf(monitor.bind({ method: 'GET', route: '/x', status: 200 })).toEqualTypeOf<RequestSeries>();
  });

  it('fits each framework', () => {
    const monitor = new PerformanceMonitor();
    expectTypeOf(expressMonitor(monitor)).toEqualTypeOf<RequestHandler>();
    expectTypeOf(expressMetrics(monitor)).toEqualTypeOf<RequestHandler>();
    expectTypeOf(monitorPlugin(monitor)).toEqualTypeOf<FastifyPluginCallback>();
    expectTypeOf(koaMonitor(monitor)).toEqualTypeOf<Middleware>();
  });
});
