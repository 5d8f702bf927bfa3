/**
 * Property tests: hostile input to every public entry of ServiceLifecycle
 * (the constructor and its nested probes object, manage() and its options,
 * addCheck() and its options, shutdown()) gets a value or a typed
 * ScaleoutError with a code: never a raw TypeError, a crash, a hang or an
 * unhandled rejection. Unknown option keys are always refused; a check that
 * throws, hangs or resolves junk fails alone in the report, with no secret;
 * deadlines of any size are refused or kept (never cut by a timer overflow);
 * a probe source that resolves junk is answered; concurrent stops share one
 * report; a consumer's stop options are checked.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { probeMiddleware as expressProbes } from '../../src/express.js';
import { probePlugin } from '../../src/fastify.js';
import { MessageQueue } from '../../src/index.js';
import { probeMiddleware as koaProbes } from '../../src/koa.js';
import { probeHandler } from '../../src/lifecycle/probe-handler.js';
import { answerProbe } from '../../src/lifecycle/probe-responder.js';
import { ServiceLifecycle } from '../../src/lifecycle/service-lifecycle.js';
import { hostileLeaf, hostileOptions, hostileValue, outcomeOf, Tally, unknownKeys } from './arbitraries.js';

const RUNS = 150;
const tally = new Tally();
afterAll(() => {
  console.log(`lifecycle hostile inputs tried: ${JSON.stringify(tally.toJSON())} (total ${tally.total()})`);
});

const LIFECYCLE_KEYS = [
  'servers',
  'signals',
  'deadlineMs',
  'drainDelayMs',
  'exitProcess',
  'startReady',
  'probes',
  'checkTimeoutMs',
  'logger',
  'clock',
];

describe('ServiceLifecycle: hostile input', () => {
  it('constructor: typed error or a working lifecycle; unknown keys refused', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(hostileValue, hostileOptions(LIFECYCLE_KEYS)), async (input) => {
        // exitProcess: true would end the test process on close(): the only value not tried.
        const options =
          typeof input === 'object' &&
          input !== null &&
          (input as { exitProcess?: unknown }).exitProcess === true
            ? { ...input, exitProcess: false }
            : input;
        tally.count('new ServiceLifecycle');
        const before = process.listenerCount('SIGTERM');
        let made: ServiceLifecycle | undefined;
        const outcome = await outcomeOf(() => {
          made = new ServiceLifecycle(options as never);
        });
        if (outcome === 'ok') {
          expect(unknownKeys(options, LIFECYCLE_KEYS)).toEqual([]);
          await made!.close();
        }
        expect(process.listenerCount('SIGTERM')).toBe(before);
      }),
      { numRuns: RUNS },
    );
  });

  it('probes: typed error for anything but paths or false', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(hostileValue, hostileOptions(['livePath', 'readyPath', 'healthPath'])),
        async (probes) => {
          tally.count('probes');
          const outcome = await outcomeOf(() => new ServiceLifecycle({ probes: probes as never }).close());
          expect(outcome === 'ok' || outcome === 'ERR_INVALID_OPTIONS').toBe(true);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('probe exports (node:http, Express, Fastify, Koa): typed error for a bad lifecycle or paths', async () => {
    const lifecycle = new ServiceLifecycle({ probes: false });
    const exports = { probeHandler, expressProbes, probePlugin, koaProbes } as const;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...(Object.keys(exports) as Array<keyof typeof exports>)),
        fc.oneof(fc.constant(lifecycle), hostileValue),
        fc.oneof(hostileValue, hostileOptions(['livePath', 'readyPath', 'healthPath'])),
        async (name, source, paths) => {
          tally.count(name);
          const outcome = await outcomeOf(() => exports[name](source as never, paths as never));
          expect(['ok', 'ERR_INVALID_OPTIONS', 'ERR_INVALID_ARGUMENT']).toContain(outcome);
          if (outcome === 'ok')
            expect(unknownKeys(paths, ['livePath', 'readyPath', 'healthPath'])).toEqual([]);
        },
      ),
      { numRuns: RUNS },
    );
    await lifecycle.close();
  });

  it('manage(), addCheck(), shutdown(): typed errors; hostile checks fail alone', async () => {
    const lifecycle = new ServiceLifecycle({ checkTimeoutMs: 50 });
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        hostileValue,
        hostileValue,
        fc.oneof(hostileValue, hostileOptions(['name', 'check'])),
        async (resource, value, options) => {
          tally.count('manage');
          await outcomeOf(() => lifecycle.manage(resource as never, options as never));
          tally.count('addCheck');
          await outcomeOf(() => lifecycle.addCheck(`c${n++}`, () => value, options as never));
          await outcomeOf(() => lifecycle.addCheck(value as never, value as never, value as never));
        },
      ),
      { numRuns: RUNS },
    );
    lifecycle.addCheck('throws', () => {
      throw new TypeError('x');
    });
    lifecycle.addCheck('hangs', () => new Promise(() => {}));
    const health = await lifecycle.health();
    expect(health.checks.find((c) => c.name === 'throws')?.ok).toBe(false);
    expect(health.checks.find((c) => c.name === 'hangs')?.ok).toBe(false);
    expect(() => JSON.stringify(health)).not.toThrow();
    tally.count('shutdown');
    const report = await lifecycle.shutdown({ toString: () => 'x' } as never);
    expect(typeof report.exitCode).toBe('number');
  });

  it('deadlines: huge, negative, NaN, fractional, past the timer range: a typed error, or a stop not forced early', async () => {
    const duration = fc.oneof(
      fc.constantFrom(
        0,
        -1,
        -0,
        1,
        Number.NaN,
        Number.POSITIVE_INFINITY,
        2 ** 31 - 1,
        2 ** 31,
        2 ** 53 + 2,
        1.5,
      ),
      fc.integer({ min: 2 ** 31 - 10, max: 365 * 24 * 3_600_000 + 10 }),
      fc.integer({ min: -10, max: 50 }),
      hostileLeaf,
    );
    await fc.assert(
      fc.asyncProperty(
        fc.option(duration, { nil: undefined }),
        fc.option(duration, { nil: undefined }),
        fc.option(duration, { nil: undefined }),
        async (deadlineMs, drainDelayMs, checkTimeoutMs) => {
          tally.count('deadlines');
          const options = { deadlineMs, drainDelayMs, checkTimeoutMs, signals: ['SIGTERM'] } as never;
          let made: ServiceLifecycle | undefined;
          const outcome = await outcomeOf(() => {
            made = new ServiceLifecycle(options);
          });
          if (outcome !== 'ok') {
            expect(outcome).toBe('ERR_INVALID_OPTIONS');
            return;
          }
          made!.addCheck('quick', () => new Promise((resolve) => setTimeout(() => resolve(true), 5)));
          const health = await made!.health();
          // A check of 5 ms passes under any accepted timeout of more than 5 ms (never cut to 1 ms).
          if (typeof checkTimeoutMs !== 'number' || checkTimeoutMs > 1_000) expect(health.ready).toBe(true);
          if (typeof drainDelayMs === 'number' && drainDelayMs > 100) {
            // A long drain delay is waited out, not cut short by a timer overflow: still draining
            // 30 ms later; a second signal (the first joins the stop) then forces it.
            let ended = false;
            const stopping = made!.shutdown().then((r) => {
              ended = true;
              return r;
            });
            await new Promise((r) => setTimeout(r, 30));
            expect(ended).toBe(false);
            process.emit('SIGTERM', 'SIGTERM');
            process.emit('SIGTERM', 'SIGTERM');
            expect((await stopping).overran).toEqual(['drain-delay:drain-delay']);
            return;
          }
          const report = await made!.shutdown();
          // Any accepted deadline above the (small) drain delay ends clean: never forced at once.
          if (typeof deadlineMs !== 'number' || deadlineMs > 1_000) expect(report.clean).toBe(true);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('user checks that throw hostile values, resolve junk or hang: health() resolves, JSON-safe, no secret', async () => {
    const hostileError = fc.constantFrom<() => unknown>(
      () => {
        const e = new Error('x');
        Object.defineProperty(e, 'message', {
          get() {
            throw new Error('getter');
          },
        });
        return e;
      },
      () =>
        new Proxy(
          {},
          {
            get() {
              throw new Error('trap');
            },
            getPrototypeOf() {
              throw new Error('trap');
            },
          },
        ),
      () => new Error('redis://admin:S3CRET-pw@10.0.0.1:6379 refused; Authorization: Bearer S3CRET-jwt'),
      () => Object.assign(new Error('token=S3CRET-tok'), { code: 'ERR_X' }),
      () => 'a string',
      () => undefined,
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            hostileValue.map((v) => ({ kind: 'resolve' as const, v })),
            hostileError.map((make) => ({ kind: 'throw' as const, make })),
            fc.constant({ kind: 'hang' as const }),
            fc.constant({ kind: 'late' as const }),
          ),
          { minLength: 1, maxLength: 4 },
        ),
        async (behaviours) => {
          tally.count('user checks');
          const lifecycle = new ServiceLifecycle({ checkTimeoutMs: 30 });
          behaviours.forEach((b, i) => {
            lifecycle.addCheck(`c${i}`, () => {
              if (b.kind === 'resolve') return b.v;
              if (b.kind === 'throw') throw b.make();
              if (b.kind === 'hang') return new Promise(() => {});
              return new Promise((resolve) => setTimeout(() => resolve({ secret: 'S3CRET-late' }), 60));
            });
          });
          const health = await lifecycle.health();
          expect(health.checks).toHaveLength(behaviours.length);
          const text = JSON.stringify(health);
          expect(text).not.toContain('S3CRET');
          await lifecycle.close();
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('probe sources that resolve junk or throw: an answer, never a rejection', async () => {
    await fc.assert(
      fc.asyncProperty(
        hostileValue,
        fc.constantFrom('/live', '/ready', '/health', '/other'),
        fc.constantFrom('GET', 'HEAD', 'POST', undefined),
        fc.boolean(),
        async (value, path, method, throws) => {
          tally.count('probe source');
          const source = {
            health: () => {
              if (throws) throw value;
              return Promise.resolve(value);
            },
          };
          const answer = await answerProbe(
            source as never,
            { livePath: '/live', readyPath: '/ready', healthPath: '/health' },
            method,
            path,
          );
          if (path === '/other') expect(answer).toBeUndefined();
          else expect([200, 405, 503]).toContain(answer?.status);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('shutdown() twice, with close() and a signal in between: one stop, one report, handlers removed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('shutdown', 'close', 'signal', 'health', 'markReady', 'manage'), {
          minLength: 1,
          maxLength: 6,
        }),
        async (calls) => {
          tally.count('concurrent stops');
          const before = process.listenerCount('SIGTERM');
          const lifecycle = new ServiceLifecycle({
            signals: ['SIGTERM'],
            drainDelayMs: 5,
            deadlineMs: 5_000,
          });
          const pending: Promise<unknown>[] = [];
          for (const call of calls) {
            if (call === 'shutdown') pending.push(lifecycle.shutdown());
            else if (call === 'close') pending.push(lifecycle.close());
            else if (call === 'signal') process.emit('SIGTERM', 'SIGTERM');
            else if (call === 'health') pending.push(lifecycle.health());
            else if (call === 'markReady') lifecycle.markReady();
            else pending.push(outcomeOf(() => lifecycle.manage({ close() {} })));
          }
          const [a, b] = await Promise.all([lifecycle.shutdown(), lifecycle.shutdown(), ...pending]);
          expect(a).toBe(b);
          await lifecycle.close();
          expect(process.listenerCount('SIGTERM')).toBe(before);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('consumer stop options: typed errors for anything but { signal }', async () => {
    const queue = new MessageQueue();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof(hostileValue, hostileOptions(['signal'])), async (options) => {
        tally.count('consumer.close');
        const consumer = await queue.consume(`stop-${n++}`, async () => {});
        const outcome = await outcomeOf(() => consumer.close(options as never));
        expect(['ok', 'ERR_INVALID_OPTIONS', 'ERR_INVALID_ARGUMENT']).toContain(outcome);
        if (outcome === 'ok') expect(unknownKeys(options, ['signal'])).toEqual([]);
        else await consumer.close();
      }),
      { numRuns: RUNS },
    );
    await queue.close();
  });
});
