import { MemoryCacheAdapter } from '../../../src/adapters/memory/index.js';
import type { CacheAdapter } from '../../../src/contracts/cache.js';

/** A memory adapter that can be switched to fail (reject) or hang, like a dead Redis. */
export class FlakyAdapter extends MemoryCacheAdapter {
  mode: 'up' | 'fail' | 'hang' = 'up';
  calls = 0;
  constructor(now?: () => number) {
    super(now === undefined ? {} : { now });
    for (const name of [
      'get',
      'getMany',
      'set',
      'setMany',
      'setIfAbsent',
      'delete',
      'deleteIfEquals',
      'deleteMany',
      'increment',
      'clear',
      'publish',
    ] as const) {
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

export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await tick(5);
  }
}
