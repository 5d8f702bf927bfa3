import { describe, expect, it } from 'vitest';
import { DistributedCache } from '../../../src/cache/distributed-cache.js';

describe('getMany / setMany / deleteMany take dense, bounded arrays', () => {
  it('a hole in a sparse array is the typed error of an undefined item, never skipped or a TypeError', async () => {
    const cache = new DistributedCache();
    try {
      const entries: unknown[] = [];
      entries[2] = { key: 'a', value: 1 };
      await expect(cache.setMany(entries as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
      expect(await cache.get('a')).toBeUndefined();
      const keys: unknown[] = [];
      keys[1] = 'a';
      await expect(cache.getMany(keys as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
      await expect(cache.deleteMany(keys as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    } finally {
      await cache.close();
    }
  });

  it('an array longer than 100,000 items is refused before it is walked', async () => {
    const cache = new DistributedCache();
    try {
      const huge: unknown[] = [];
      huge.length = 2 ** 32 - 1;
      for (const call of [
        () => cache.getMany(huge as never),
        () => cache.deleteMany(huge as never),
        () => cache.setMany(huge as never),
      ]) {
        await expect(call()).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
      }
    } finally {
      await cache.close();
    }
  }, 5_000);
});
