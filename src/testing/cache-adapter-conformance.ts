import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import type { CacheAdapter } from '../contracts/cache.js';
import type { ConformanceOptions } from './test-api.js';

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function eventually(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new assert.AssertionError({ message: 'condition not met in time' });
    await pause(10);
  }
}

/**
 * The behaviour every {@link CacheAdapter} must show, as a test suite that
 * runs under any runner (assertions use `node:assert`). Each test takes a
 * fresh adapter from `create`; a networked `create` should use a unique prefix.
 *
 * @example
 * ```ts
 * import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from 'vitest';
 * import { memoryCacheAdapter } from 'scaleout';
 * import { cacheAdapterConformance } from 'scaleout/testing';
 * cacheAdapterConformance({
 *   name: 'memory',
 *   test: { describe, it, beforeAll, afterAll, beforeEach, afterEach },
 *   create: () => memoryCacheAdapter(),
 *   destroy: (adapter) => adapter.close(),
 * });
 * ```
 */
export function cacheAdapterConformance<T extends CacheAdapter>(options: ConformanceOptions<T>): void {
  const { test } = options;
  test.describe(`CacheAdapter conformance: ${options.name}`, () => {
    let adapter: T;
    test.beforeEach(async () => {
      adapter = await options.create();
    });
    test.afterEach(async () => {
      await options.destroy?.(adapter);
    });

    test.it('returns undefined for a missing key and the stored text for a present one', async () => {
      assert.equal(await adapter.get('missing'), undefined);
      await adapter.set('a', 'hello');
      assert.equal(await adapter.get('a'), 'hello');
      await adapter.set('a', 'replaced');
      assert.equal(await adapter.get('a'), 'replaced');
    });

    test.it('keeps text byte-exact (unicode, empty, large)', async () => {
      const samples = ['', 'ünïcødé ✓ 🚀', '{"a":[1,2,3]}', 'x'.repeat(200_000), 'line\nbreak\ttab'];
      for (const [i, text] of samples.entries()) await adapter.set(`s${i}`, text);
      for (const [i, text] of samples.entries()) assert.equal(await adapter.get(`s${i}`), text);
    });

    test.it('expires entries after their TTL and keeps those without one', async () => {
      await adapter.set('short', 'v', { ttlMs: 250 });
      await adapter.set('forever', 'v');
      assert.equal(await adapter.get('short'), 'v');
      await pause(600);
      assert.equal(await adapter.get('short'), undefined);
      assert.equal(await adapter.get('forever'), 'v');
    });

    test.it('set without a TTL clears a previous TTL', async () => {
      await adapter.set('k', 'v1', { ttlMs: 250 });
      await adapter.set('k', 'v2');
      await pause(600);
      assert.equal(await adapter.get('k'), 'v2');
    });

    test.it('getMany answers one slot per key, in order, duplicates included', async () => {
      await adapter.set('m1', 'one');
      await adapter.set('m3', 'three');
      assert.deepEqual(await adapter.getMany(['m1', 'm2', 'm3', 'm1']), ['one', undefined, 'three', 'one']);
      assert.deepEqual(await adapter.getMany([]), []);
    });

    test.it('setMany stores every entry with its own TTL', async () => {
      await adapter.setMany([
        { key: 'b1', value: 'x', ttlMs: 250 },
        { key: 'b2', value: 'y' },
        { key: 'b3', value: 'z', ttlMs: 60_000 },
      ]);
      assert.deepEqual(await adapter.getMany(['b1', 'b2', 'b3']), ['x', 'y', 'z']);
      await pause(600);
      assert.deepEqual(await adapter.getMany(['b1', 'b2', 'b3']), [undefined, 'y', 'z']);
      await adapter.setMany([]);
    });

    test.it('setIfAbsent stores only when absent, and again after expiry', async () => {
      assert.equal(await adapter.setIfAbsent('nx', 'first', { ttlMs: 250 }), true);
      assert.equal(await adapter.setIfAbsent('nx', 'second', { ttlMs: 250 }), false);
      assert.equal(await adapter.get('nx'), 'first');
      await pause(600);
      assert.equal(await adapter.setIfAbsent('nx', 'third'), true);
      assert.equal(await adapter.get('nx'), 'third');
    });

    test.it('setIfAbsent lets exactly one of many concurrent callers win', async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => adapter.setIfAbsent('race', `c${i}`, { ttlMs: 5000 })),
      );
      assert.equal(results.filter(Boolean).length, 1);
    });

    test.it('delete and deleteMany report what existed', async () => {
      await adapter.set('d1', 'a');
      await adapter.set('d2', 'b');
      await adapter.set('d3', 'c');
      assert.equal(await adapter.delete('d1'), true);
      assert.equal(await adapter.delete('d1'), false);
      assert.equal(await adapter.deleteMany(['d2', 'd3', 'nope']), 2);
      assert.equal(await adapter.deleteMany([]), 0);
      assert.deepEqual(await adapter.getMany(['d1', 'd2', 'd3']), [undefined, undefined, undefined]);
    });

    test.it('deleteIfEquals removes only a matching value', async () => {
      await adapter.set('lock', 'token-a');
      assert.equal(await adapter.deleteIfEquals('lock', 'token-b'), false);
      assert.equal(await adapter.get('lock'), 'token-a');
      assert.equal(await adapter.deleteIfEquals('lock', 'token-a'), true);
      assert.equal(await adapter.get('lock'), undefined);
      assert.equal(await adapter.deleteIfEquals('lock', 'token-a'), false);
    });

    test.it('increment counts from zero, adds negatives, and is atomic under concurrency', async () => {
      assert.equal(await adapter.increment('n', { by: 1 }), 1);
      assert.equal(await adapter.increment('n', { by: 5 }), 6);
      assert.equal(await adapter.increment('n', { by: -10 }), -4);
      assert.equal(await adapter.get('n'), '-4');
      await Promise.all(Array.from({ length: 50 }, () => adapter.increment('c', { by: 1 })));
      assert.equal(await adapter.get('c'), '50');
    });

    test.it('increment with a TTL expires the counter; without one it keeps the TTL', async () => {
      await adapter.increment('t', { by: 1, ttlMs: 250 });
      await adapter.increment('t', { by: 1 });
      assert.equal(await adapter.get('t'), '2');
      await pause(600);
      assert.equal(await adapter.get('t'), undefined);
    });

    test.it(
      'increment rejects a value that is not an integer counter with ERR_CORRUPT_DATA, leaving it intact',
      async () => {
        const junk = ['{"a":1}', 'abc', '1.5', ' 1', '1e3', '007', '9007199254740992', '-9007199254740992'];
        for (const [i, text] of junk.entries()) {
          await adapter.set(`junk${i}`, text);
          await assert.rejects(adapter.increment(`junk${i}`, { by: 1 }), { code: 'ERR_CORRUPT_DATA' });
          assert.equal(await adapter.get(`junk${i}`), text);
        }
      },
    );

    test.it(
      'increment past +-(2^53 - 1) is refused with ERR_INVALID_ARGUMENT, leaving the counter intact',
      async () => {
        const max = Number.MAX_SAFE_INTEGER;
        await adapter.set('big', String(max - 1));
        assert.equal(await adapter.increment('big', { by: 1 }), max);
        await assert.rejects(adapter.increment('big', { by: 1 }), { code: 'ERR_INVALID_ARGUMENT' });
        assert.equal(await adapter.get('big'), String(max));
        await adapter.set('small', String(-max));
        await assert.rejects(adapter.increment('small', { by: -1 }), { code: 'ERR_INVALID_ARGUMENT' });
        assert.equal(await adapter.get('small'), String(-max));
        await assert.rejects(
          adapter.increment('fresh', { by: max }).then(() => adapter.increment('fresh', { by: max })),
          {
            code: 'ERR_INVALID_ARGUMENT',
          },
        );
        assert.equal(await adapter.get('fresh'), String(max));
      },
    );

    test.it('clear with a prefix removes only keys under it', async () => {
      await adapter.setMany([
        { key: 'users:1', value: 'a' },
        { key: 'users:2', value: 'b' },
        { key: 'orders:1', value: 'c' },
        { key: 'users*:x', value: 'glob' },
      ]);
      assert.equal(await adapter.clear({ prefix: 'users:' }), 2);
      assert.deepEqual(await adapter.getMany(['users:1', 'users:2', 'orders:1', 'users*:x']), [
        undefined,
        undefined,
        'c',
        'glob',
      ]);
      assert.equal(await adapter.clear({ prefix: 'users*' }), 1);
      assert.equal(await adapter.get('orders:1'), 'c');
      await adapter.clear();
      assert.equal(await adapter.get('orders:1'), undefined);
    });

    test.it('publish reaches every subscriber of the channel, and only of that channel', async () => {
      const a: string[] = [];
      const b: string[] = [];
      const other: string[] = [];
      const subA = await adapter.subscribe('events', { onMessage: (m) => a.push(m) });
      const subB = await adapter.subscribe('events', { onMessage: (m) => b.push(m) });
      const subOther = await adapter.subscribe('elsewhere', { onMessage: (m) => other.push(m) });
      await adapter.publish('events', 'one');
      await adapter.publish('events', 'two ✓');
      await eventually(() => a.length === 2 && b.length === 2);
      assert.deepEqual(a, ['one', 'two ✓']);
      assert.deepEqual(b, ['one', 'two ✓']);
      // Messages from one publisher arrive in the order they were published,
      // also when sent without waiting for each other.
      const burst = Array.from({ length: 30 }, (_, i) => `burst ${i}`);
      await Promise.all(burst.map((m) => adapter.publish('events', m)));
      await eventually(() => a.length === 32 && b.length === 32);
      assert.deepEqual(a.splice(2), burst);
      assert.deepEqual(b.splice(2), burst);
      await subA.unsubscribe();
      await adapter.publish('events', 'three');
      await eventually(() => b.length === 3);
      await pause(50);
      assert.deepEqual(a, ['one', 'two ✓']);
      assert.deepEqual(other, []);
      await subB.unsubscribe();
      await subOther.unsubscribe();
    });

    test.it(
      "runs each subscriber in the async context of its subscribe() call, not the publisher's",
      async () => {
        const als = new AsyncLocalStorage<string>();
        const seen: Array<string | undefined> = [];
        // The first subscription may open the adapter's subscriber connection.
        const first = await als.run('first', () => adapter.subscribe('elsewhere', { onMessage: () => {} }));
        const second = await als.run('second', () =>
          adapter.subscribe('events', { onMessage: () => void seen.push(als.getStore()) }),
        );
        await als.run('publisher', () => adapter.publish('events', 'one'));
        await eventually(() => seen.length === 1);
        assert.deepEqual(seen, ['second']);
        await second.unsubscribe();
        await first.unsubscribe();
      },
    );

    test.it(
      'subscribe resolves to a Subscription; unsubscribe() is idempotent and leaves other subscribers alone',
      async () => {
        const a: string[] = [];
        const b: string[] = [];
        const subA = await adapter.subscribe('events', { onMessage: (m) => a.push(m) });
        const subB = await adapter.subscribe('events', { onMessage: (m) => b.push(m) });
        assert.equal(typeof subA.unsubscribe, 'function');
        await subA.unsubscribe();
        await subA.unsubscribe();
        await adapter.publish('events', 'after');
        await eventually(() => b.length === 1);
        await pause(50);
        assert.deepEqual(a, []);
        assert.deepEqual(b, ['after']);
        await subB.unsubscribe();
      },
    );

    test.it('close() is idempotent, and calls after it reject with ERR_CLOSED', async () => {
      await adapter.set('k', 'v');
      await adapter.close();
      await adapter.close();
      await assert.rejects(adapter.get('k'), { code: 'ERR_CLOSED' });
      await assert.rejects(adapter.set('k', 'w'), { code: 'ERR_CLOSED' });
    });
  });
}
