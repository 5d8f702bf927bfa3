import { describe, expect, it } from 'vitest';
import { probeMiddleware } from '../../../src/express.js';
import { probeHandler } from '../../../src/lifecycle/probe-handler.js';
import { answerProbe } from '../../../src/lifecycle/probe-responder.js';
import { ServiceLifecycle } from '../../../src/lifecycle/service-lifecycle.js';

const PATHS = { livePath: '/live', readyPath: '/ready', healthPath: '/health' } as const;

describe('answerProbe', () => {
  it('a health source that resolves junk gets a 503, not a rejection (the request would hang)', async () => {
    const circular: Record<string, unknown> = { ready: true };
    circular.self = circular;
    const junk: unknown[] = [null, 5, { ready: true, n: 1n }, circular, { ready: 'yes', status: 1n }];
    for (const value of junk) {
      for (const path of ['/ready', '/health']) {
        const answer = await answerProbe({ health: async () => value as never }, PATHS, 'GET', path);
        expect(answer?.status).toBe(503);
        expect(JSON.parse(answer!.body)).toEqual({ status: 'unready' });
      }
    }
  });

  it('a health source that never settles gets a 503 at the limit, not a hung request', async () => {
    const never = { health: () => new Promise<never>(() => {}) };
    for (const path of ['/ready', '/health']) {
      const started = performance.now();
      const answer = await answerProbe(never, PATHS, 'GET', path, 50);
      expect(answer?.status).toBe(503);
      expect(JSON.parse(answer!.body)).toEqual({ status: 'unready' });
      expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    }
  });
});

describe('probe paths', () => {
  it('two probes on one path are refused (readiness would never turn 503)', async () => {
    expect(() => new ServiceLifecycle({ probes: { livePath: '/ready' } })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', option: 'probes.livePath' }),
    );
    expect(() => new ServiceLifecycle({ probes: { livePath: '/x', healthPath: '/x' } })).toThrow(/same path/);
    const lifecycle = new ServiceLifecycle({ probes: false });
    expect(() => probeHandler(lifecycle, { readyPath: '/health' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }),
    );
    expect(() => probeMiddleware(lifecycle, { livePath: '/ready' })).toThrow(/same path/);
    // Turning one off frees its path.
    expect(() => probeHandler(lifecycle, { livePath: '/ready', readyPath: false })).not.toThrow();
    await lifecycle.close();
  });
});
