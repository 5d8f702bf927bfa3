import { afterEach, vi } from 'vitest';
import { MemoryCacheAdapter } from '../../../src/adapters/memory/index.js';
import { CACHE_ADAPTER_METHODS } from '../../../src/cache/backend.js';
import { DistributedCache } from '../../../src/cache/index.js';
import type { CacheAdapter } from '../../../src/contracts/cache.js';
import type { Clock } from '../../../src/types.js';
import { until } from '../../helpers/wait.js';

/** A memory adapter that can be switched to fail (reject) or hang, like a dead Redis. */
export class FlakyAdapter extends MemoryCacheAdapter {
  mode: 'up' | 'fail' | 'hang' = 'up';
  calls = 0;
  constructor(clock?: Clock) {
    super(clock === undefined ? {} : { clock });
    // Every adapter call but the bus subscription and close can fail or hang.
    for (const name of CACHE_ADAPTER_METHODS.filter((m) => m !== 'subscribe' && m !== 'close')) {
      const original = (this as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[
        name
      ]!.bind(this);
      (this as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
        this.calls++;
        if (this.mode === 'fail') return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379'));
        if (this.mode === 'hang') return new Promise(() => {});
        return original(...args);
      };
    }
  }
}

export const asAdapter = (a: CacheAdapter) => a;

export const tick = (ms = 0) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 5 ms until it holds (5 s by default). */
export const eventually = (check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> =>
  until('the condition', check, timeoutMs, 5);

/**
 * A factory of caches that are all closed (and mocks restored) after each
 * test of the file that calls it.
 */
export function cacheFactory(): (
  options?: ConstructorParameters<typeof DistributedCache>[0],
) => DistributedCache {
  const caches: DistributedCache[] = [];
  afterEach(async () => {
    vi.restoreAllMocks();
    await Promise.all(caches.splice(0).map((c) => c.close()));
  });
  return (options = {}) => {
    const cache = new DistributedCache(options);
    caches.push(cache);
    return cache;
  };
}
