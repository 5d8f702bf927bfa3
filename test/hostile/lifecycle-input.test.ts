/**
 * Property tests: hostile input to every public entry of ServiceLifecycle
 * (the constructor and its nested probes object, manage() and its options,
 * addCheck() and its options, shutdown()) gets a value or a typed
 * ScaleoutError with a code: never a raw TypeError, a crash, a hang or an
 * unhandled rejection. Unknown option keys are always refused; a check that
 * throws, hangs or resolves junk fails alone in the report.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { probeMiddleware as expressProbes } from '../../src/express.js';
import { probePlugin } from '../../src/fastify.js';
import { probeMiddleware as koaProbes } from '../../src/koa.js';
import { probeHandler } from '../../src/lifecycle/probe-handler.js';
import { ServiceLifecycle } from '../../src/lifecycle/service-lifecycle.js';
import { hostileOptions, hostileValue, outcomeOf, Tally, unknownKeys } from './arbitraries.js';

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
});
