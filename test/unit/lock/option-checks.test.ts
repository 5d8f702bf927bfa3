import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { memoryLockAdapter } from '../../../src/adapters/memory/memory-lock-adapter.js';
import { redisLockAdapter } from '../../../src/adapters/redis/lock.js';
import { redlockAdapter } from '../../../src/adapters/redis/redlock.js';
import { DistributedCache } from '../../../src/cache/index.js';
import { InvalidArgumentError, InvalidOptionsError, type ScaleoutError } from '../../../src/errors.js';
import { DistributedLock, DistributedSemaphore, type Lease } from '../../../src/lock/index.js';

/** Runs `call` and returns what it threw (sync or async), checking its class. */
async function refusal(
  call: () => unknown,
  kind: new (...args: never[]) => ScaleoutError = InvalidOptionsError,
): Promise<InvalidOptionsError> {
  try {
    await call();
  } catch (err) {
    expect(err).toBeInstanceOf(kind);
    return err as InvalidOptionsError;
  }
  throw new Error(`expected ${kind.name}`);
}

describe("DistributedLock: the design's calls fail loudly with the fix", () => {
  it('new DistributedLock(cache) is refused, saying to pass { adapter: redisLockAdapter(...) }', async () => {
    const cache = new DistributedCache();
    try {
      const err = await refusal(() => new DistributedLock(cache as never));
      expect(err.option).toBe('adapter');
      expect(err.message).toMatch(/instance of DistributedCache/);
      expect(err.message).toMatch(/\{ adapter: redisLockAdapter\(\{ connection: redis \}\) \}/);
      await refusal(() => new DistributedSemaphore(cache as never));
      await refusal(() => new DistributedLock({ cache } as never));
      expect((await refusal(() => new DistributedLock({ cache } as never))).suggestion).toBe('adapter');
    } finally {
      await cache.close();
    }
  });

  it('acquire(resource, 10) is refused naming { ttlMs } and tryAcquire, and takes nothing', async () => {
    const locks = new DistributedLock();
    try {
      const err = await refusal(() => locks.acquire('user_points:1', 10 as never));
      expect(err.option).toBe('ttlMs');
      expect(err.message).toMatch(/\{ ttlMs: <milliseconds> \}/);
      expect(err.message).toMatch(/tryAcquire\(resource, \{ ttlMs \}\)/);
      expect((await refusal(() => locks.tryAcquire('r', 10 as never))).option).toBe('ttlMs');
      expect((await refusal(() => locks.withLock('r', () => 1, 10 as never))).option).toBe('ttlMs');
      // nothing was taken by the refused calls
      const lease = await locks.tryAcquire('user_points:1');
      expect(lease).not.toBeNull();
      await lease!.release();
    } finally {
      await locks.close();
    }
  });

  it('refuses unknown keys and wrong types in every options object', async () => {
    const locks = new DistributedLock();
    try {
      const cases: Array<[() => unknown, string, string | undefined]> = [
        [() => new DistributedLock({ ttl: 5 } as never), 'ttl', 'ttlMs'],
        [() => new DistributedLock({ lockPrefix: 'lock:' } as never), 'lockPrefix', undefined],
        [() => new DistributedLock({ defaultTTL: 30 } as never), 'defaultTTL', 'ttlMs'],
        [() => new DistributedSemaphore({ limit: 2, permits: 3 } as never), 'permits', 'limit'],
        [() => locks.acquire('r', { ttl: 5 } as never), 'ttl', 'ttlMs'],
        [() => locks.acquire('r', { retries: 3 } as never), 'retries', undefined],
        [() => locks.tryAcquire('r', { waitMs: 5 } as never), 'waitMs', undefined],
        [() => locks.withLock('r', () => 1, { autoextend: true } as never), 'autoextend', 'autoExtend'],
      ];
      for (const [call, option, suggestion] of cases) {
        const err = await refusal(call);
        expect(err.option).toBe(option);
        expect(err.suggestion).toBe(suggestion);
      }
      await refusal(() => locks.withLock('r', () => 1, { autoExtend: 'yes' } as never));
      await refusal(() => locks.acquire('r', { signal: 'stop' } as never), InvalidArgumentError);
      await refusal(() => locks.acquire('r', new Map() as never));
      expect(await locks.tryAcquire('r')).not.toBeNull();
    } finally {
      await locks.close();
    }
  });

  it("release(resource, lease) works; the design's release(resource, lockId) says what to pass", async () => {
    const locks = new DistributedLock();
    try {
      const lease = (await locks.tryAcquire('user_points:1', { ttlMs: 10_000 })) as Lease;
      const err = await refusal(
        () => locks.release('user_points:1', 'a-uuid' as never),
        InvalidArgumentError,
      );
      expect(err.message).toMatch(/takes the Lease that acquire\(\) or tryAcquire\(\) returned/);
      await refusal(() => locks.release('user_points:1' as never), InvalidArgumentError);
      await refusal(() => locks.release('other', lease), InvalidArgumentError);
      expect(lease.released).toBe(false);
      expect(await locks.release('user_points:1', lease)).toBe(true);
      expect(await locks.release('user_points:1', lease)).toBe(false);
      expect(await locks.tryAcquire('user_points:1')).not.toBeNull();
    } finally {
      await locks.close();
    }
  });
});

describe('lock adapter factories refuse unknown keys and non-objects', () => {
  it('memoryLockAdapter, redisLockAdapter, redlockAdapter', async () => {
    const redis = new Redis({ lazyConnect: true });
    try {
      expect((await refusal(() => memoryLockAdapter({ now: Date.now } as never))).option).toBe('now');
      await refusal(() => memoryLockAdapter({ clock: {} } as never));
      await refusal(() => redisLockAdapter(redis as never));
      expect((await refusal(() => redisLockAdapter({ client: redis } as never))).suggestion).toBe(
        'connection',
      );
      expect(
        (await refusal(() => redisLockAdapter({ connection: redis, lockPrefix: 'l:' } as never))).suggestion,
      ).toBe('prefix');
      await refusal(() => redisLockAdapter(undefined as never));
      expect(
        (await refusal(() => redlockAdapter({ connections: [redis], retryCount: 3 } as never))).option,
      ).toBe('retryCount');
      expect((await refusal(() => redlockAdapter({ connection: redis } as never))).suggestion).toBe(
        'connections',
      );
      await refusal(() => redlockAdapter([redis] as never));
    } finally {
      redis.disconnect();
    }
  });
});
