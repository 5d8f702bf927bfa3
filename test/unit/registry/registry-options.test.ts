import { describe, expect, it } from 'vitest';
import { memoryRegistryAdapter } from '../../../src/adapters/memory/registry.js';
import { isScaleoutError } from '../../../src/errors.js';
import { roundRobinBalancer, weightedBalancer } from '../../../src/registry/balancers/index.js';
import { HealthChecker } from '../../../src/registry/health-checker.js';
import type { ServiceRegistryOptions } from '../../../src/registry/registry-options.js';
import { ServiceRegistry } from '../../../src/registry/service-registry.js';
import { refusal } from './helpers.js';

describe('every options object of the registry refuses unknown keys, non-plain objects and bare numbers', () => {
  it('the constructor, its nested healthCheck and outlierDetection, and HealthChecker', () => {
    const cases: Array<[unknown, string]> = [
      [{ ttl: 5000 }, 'ttl'],
      [{ ttlMS: 5000 }, 'ttlMS'],
      [{ healthCheck: { interval: 1000 } }, 'interval'],
      [{ healthCheck: { path: '/health', timeout: 5 } }, 'timeout'],
      [{ outlierDetection: { failures: 3 } }, 'failures'],
      [{ adapter: memoryRegistryAdapter(), cache: {} }, 'cache'],
    ];
    for (const [options, key] of cases) {
      const err = refusal(() => new ServiceRegistry(options as never));
      expect(err?.code, JSON.stringify(options)).toBe('ERR_INVALID_OPTIONS');
      expect(err?.option).toBe(key);
    }
    expect(refusal(() => new ServiceRegistry({ ttl: 1 } as never))?.suggestion).toBe('ttlMs');
    expect(refusal(() => new ServiceRegistry(30_000 as never))).toMatchObject({
      code: 'ERR_INVALID_OPTIONS',
      option: 'ttlMs',
    });
    expect(refusal(() => new ServiceRegistry(new Map() as never))?.code).toBe('ERR_INVALID_OPTIONS');
    expect(refusal(() => new ServiceRegistry({ healthCheck: 30_000 } as never))).toMatchObject({
      code: 'ERR_INVALID_OPTIONS',
      option: 'intervalMs',
    });
    expect(refusal(() => new ServiceRegistry({ outlierDetection: true } as never))?.code).toBe(
      'ERR_INVALID_OPTIONS',
    );
    expect(refusal(() => new HealthChecker({ pathname: '/h' } as never))?.option).toBe('pathname');
    // Balancer factories take no options: one passed is refused, never ignored.
    expect(refusal(() => (roundRobinBalancer as (...a: unknown[]) => unknown)({ seed: 1 }))?.code).toBe(
      'ERR_INVALID_OPTIONS',
    );
    expect(refusal(() => (weightedBalancer as (...a: unknown[]) => unknown)(3))?.code).toBe(
      'ERR_INVALID_OPTIONS',
    );
    expect(refusal(() => new ServiceRegistry({ balancer: roundRobinBalancer() as never }))?.option).toBe(
      'balancer',
    );
  });
});

describe('ServiceRegistry options', () => {
  it('refuses absurd options at construction', () => {
    const cases: ServiceRegistryOptions[] = [
      { ttlMs: 1 },
      { ttlMs: 1e12 },
      { ttlMs: 1000, heartbeatIntervalMs: 1000 },
      { panicThresholdPercent: 150 },
      { operationTimeoutMs: 0 },
      { outlierDetection: { consecutiveFailures: 0 } },
      { outlierDetection: { baseEjectionMs: 1000, maxEjectionMs: 10 } },
      { healthCheck: { concurrency: 0 } },
      { healthCheck: { path: 'health' } },
      { balancer: 'p2c' as never },
    ];
    for (const options of cases) {
      let caught: unknown;
      try {
        new ServiceRegistry(options);
      } catch (err) {
        caught = err;
      }
      expect(isScaleoutError(caught, 'ERR_INVALID_OPTIONS'), JSON.stringify(options)).toBe(true);
    }
  });
});
