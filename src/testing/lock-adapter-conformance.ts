import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { LockAdapter } from '../contracts/lock.js';
import type { ConformanceOptions } from './test-api.js';

/**
 * Options of {@link lockAdapterConformance}.
 *
 * @example
 * ```ts
 * const options: LockAdapterConformanceOptions = { name: 'mine', test, create: () => myAdapter(), semaphores: false };
 * ```
 */
export interface LockAdapterConformanceOptions extends ConformanceOptions<LockAdapter> {
  /**
   * Whether the adapter supports semaphores (`limit > 1`). When false, the
   * suite checks instead that such requests are refused with
   * `InvalidArgumentError`.
   * @default true
   */
  semaphores?: boolean;
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The behaviour every {@link LockAdapter} must show: exclusive holds with
 * TTLs, fencing tokens that only grow, owner-checked release and extend,
 * semaphores with a limit, and release notifications. Each test gets a fresh
 * adapter from `create`.
 *
 * @example
 * ```ts
 * import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from 'vitest';
 * import { memoryLockAdapter } from 'scaleout';
 * import { lockAdapterConformance } from 'scaleout/testing';
 *
 * lockAdapterConformance({
 *   name: 'memory',
 *   test: { describe, it, beforeAll, afterAll, beforeEach, afterEach },
 *   create: () => memoryLockAdapter(),
 *   destroy: (adapter) => adapter.close(),
 * });
 * ```
 */
export function lockAdapterConformance(options: LockAdapterConformanceOptions): void {
  const { test } = options;
  const semaphores = options.semaphores !== false;
  /** Registers a semaphore test, or for lock-only adapters checks that limit > 1 is refused. */
  const semaphoreIt = (name: string, fn: () => Promise<void>) => {
    if (semaphores) test.it(name, fn);
  };
  const withAdapter = (fn: (adapter: LockAdapter) => Promise<void>) => async () => {
    const adapter = await options.create();
    try {
      await fn(adapter);
    } finally {
      await options.destroy?.(adapter);
    }
  };
  const res = () => `res-${randomUUID()}`;
  /**
   * One hold taken and given back on a resource of its own, before a test
   * whose TTLs are short: a fresh adapter's first call also connects (and may
   * load scripts), and that time counts against a quorum adapter's validity.
   */
  const warm = async (adapter: LockAdapter) => {
    const resource = res();
    await adapter.acquire({ resource, token: 'warm', ttlMs: 10_000, limit: 1 });
    await adapter.release({ resource, token: 'warm', limit: 1 });
  };

  test.describe(`LockAdapter conformance: ${options.name}`, () => {
    test.it(
      'grants a free lock once, with a fencing token, and refuses a second owner',
      withAdapter(async (adapter) => {
        const resource = res();
        const a = await adapter.acquire({ resource, token: 'a', ttlMs: 10_000, limit: 1 });
        assert.equal(a.acquired, true);
        assert.ok(a.acquired && Number.isSafeInteger(a.fencingToken) && a.fencingToken > 0);
        assert.ok(a.acquired && a.validityMs > 0 && a.validityMs <= 10_000);
        const b = await adapter.acquire({ resource, token: 'b', ttlMs: 10_000, limit: 1 });
        assert.equal(b.acquired, false);
        assert.ok(!b.acquired && b.retryAfterMs !== undefined && b.retryAfterMs > 0);
        assert.ok(!b.acquired && (b.retryAfterMs ?? 0) <= 10_000);
        const again = await adapter.acquire({ resource, token: 'a', ttlMs: 10_000, limit: 1 });
        assert.equal(again.acquired, false, 'a lock is not re-entrant');
      }),
    );

    test.it(
      'grants exactly one of many concurrent acquires',
      withAdapter(async (adapter) => {
        const resource = res();
        const results = await Promise.all(
          Array.from({ length: 25 }, (_, i) =>
            adapter.acquire({ resource, token: `t${i}`, ttlMs: 10_000, limit: 1 }),
          ),
        );
        assert.equal(results.filter((r) => r.acquired).length, 1);
      }),
    );

    test.it(
      'hands out fencing tokens that strictly grow across holders',
      withAdapter(async (adapter) => {
        const resource = res();
        let last = 0;
        for (let i = 0; i < 5; i++) {
          const r = await adapter.acquire({ resource, token: `t${i}`, ttlMs: 10_000, limit: 1 });
          assert.ok(r.acquired);
          assert.ok(r.fencingToken > last, `token ${r.fencingToken} must exceed ${last}`);
          last = r.fencingToken;
          assert.equal(await adapter.release({ resource, token: `t${i}`, limit: 1 }), true);
        }
      }),
    );

    test.it(
      'releases only for the owner token, and only once',
      withAdapter(async (adapter) => {
        const resource = res();
        assert.ok((await adapter.acquire({ resource, token: 'owner', ttlMs: 10_000, limit: 1 })).acquired);
        assert.equal(await adapter.release({ resource, token: 'forged', limit: 1 }), false);
        assert.equal(
          (await adapter.acquire({ resource, token: 'other', ttlMs: 10_000, limit: 1 })).acquired,
          false,
          'a forged release must not free the lock',
        );
        assert.equal(await adapter.release({ resource, token: 'owner', limit: 1 }), true);
        assert.equal(await adapter.release({ resource, token: 'owner', limit: 1 }), false);
        assert.equal(await adapter.release({ resource: res(), token: 'owner', limit: 1 }), false);
      }),
    );

    test.it(
      'frees a hold when its TTL runs out, and the old owner can then neither release nor extend',
      withAdapter(async (adapter) => {
        await warm(adapter);
        const resource = res();
        assert.ok((await adapter.acquire({ resource, token: 'a', ttlMs: 80, limit: 1 })).acquired);
        await delay(250);
        const b = await adapter.acquire({ resource, token: 'b', ttlMs: 10_000, limit: 1 });
        assert.equal(b.acquired, true);
        assert.equal(await adapter.release({ resource, token: 'a', limit: 1 }), false);
        assert.equal(
          (await adapter.extend({ resource, token: 'a', ttlMs: 10_000, limit: 1 })).extended,
          false,
        );
        assert.equal(await adapter.release({ resource, token: 'b', limit: 1 }), true);
      }),
    );

    test.it(
      'extends only for the owner, and an extended hold outlives its first TTL',
      withAdapter(async (adapter) => {
        await warm(adapter);
        const resource = res();
        assert.ok((await adapter.acquire({ resource, token: 'a', ttlMs: 150, limit: 1 })).acquired);
        assert.equal(
          (await adapter.extend({ resource, token: 'x', ttlMs: 10_000, limit: 1 })).extended,
          false,
        );
        const ext = await adapter.extend({ resource, token: 'a', ttlMs: 10_000, limit: 1 });
        assert.equal(ext.extended, true);
        await delay(300);
        assert.equal(
          (await adapter.acquire({ resource, token: 'b', ttlMs: 1000, limit: 1 })).acquired,
          false,
        );
        assert.equal(await adapter.release({ resource, token: 'a', limit: 1 }), true);
      }),
    );

    test.it(
      'keeps resources apart, and locks apart from semaphores of the same name',
      withAdapter(async (adapter) => {
        const r1 = res();
        const r2 = res();
        assert.ok((await adapter.acquire({ resource: r1, token: 'a', ttlMs: 10_000, limit: 1 })).acquired);
        assert.ok((await adapter.acquire({ resource: r2, token: 'b', ttlMs: 10_000, limit: 1 })).acquired);
        if (semaphores) {
          assert.ok((await adapter.acquire({ resource: r1, token: 'c', ttlMs: 10_000, limit: 3 })).acquired);
          assert.equal(await adapter.release({ resource: r1, token: 'a', limit: 3 }), false);
        }
        assert.equal(
          (await adapter.acquire({ resource: r1, token: 'd', ttlMs: 10_000, limit: 1 })).acquired,
          false,
        );
      }),
    );

    if (!semaphores) {
      test.it(
        'refuses semaphores (limit > 1) with a typed error, holding nothing',
        withAdapter(async (adapter) => {
          const resource = res();
          await assert.rejects(
            adapter.acquire({ resource, token: 'a', ttlMs: 10_000, limit: 3 }),
            (err: unknown) => (err as { code?: unknown }).code === 'ERR_INVALID_ARGUMENT',
          );
          assert.ok((await adapter.acquire({ resource, token: 'b', ttlMs: 10_000, limit: 1 })).acquired);
        }),
      );
    }

    semaphoreIt(
      'grants a semaphore to at most `limit` holders, with growing fencing tokens',
      withAdapter(async (adapter) => {
        const resource = res();
        const results = await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            adapter.acquire({ resource, token: `t${i}`, ttlMs: 10_000, limit: 3 }),
          ),
        );
        const granted = results.filter((r) => r.acquired);
        assert.equal(granted.length, 3);
        const tokens = granted.map((r) => (r.acquired ? r.fencingToken : 0));
        assert.equal(new Set(tokens).size, 3);
        const refused = results.find((r) => !r.acquired);
        assert.ok(refused && !refused.acquired && (refused.retryAfterMs ?? 0) > 0);
        const holder = results.findIndex((r) => r.acquired);
        assert.equal(await adapter.release({ resource, token: `t${holder}`, limit: 3 }), true);
        assert.equal(await adapter.release({ resource, token: `t${holder}`, limit: 3 }), false);
        const next = await adapter.acquire({ resource, token: 'late', ttlMs: 10_000, limit: 3 });
        assert.ok(next.acquired && next.fencingToken > Math.max(...tokens));
        assert.equal(
          (await adapter.acquire({ resource, token: 'later', ttlMs: 10_000, limit: 3 })).acquired,
          false,
        );
      }),
    );

    semaphoreIt(
      'expires and extends semaphore holders one by one',
      withAdapter(async (adapter) => {
        await warm(adapter);
        const resource = res();
        assert.ok((await adapter.acquire({ resource, token: 'short', ttlMs: 80, limit: 2 })).acquired);
        assert.ok((await adapter.acquire({ resource, token: 'long', ttlMs: 120, limit: 2 })).acquired);
        assert.equal(
          (await adapter.extend({ resource, token: 'long', ttlMs: 10_000, limit: 2 })).extended,
          true,
        );
        assert.equal(
          (await adapter.extend({ resource, token: 'nobody', ttlMs: 10_000, limit: 2 })).extended,
          false,
        );
        await delay(300);
        assert.equal(
          (await adapter.extend({ resource, token: 'short', ttlMs: 10_000, limit: 2 })).extended,
          false,
        );
        assert.equal(await adapter.release({ resource, token: 'short', limit: 2 }), false);
        assert.ok((await adapter.acquire({ resource, token: 'new', ttlMs: 10_000, limit: 2 })).acquired);
        assert.equal(
          (await adapter.acquire({ resource, token: 'full', ttlMs: 10_000, limit: 2 })).acquired,
          false,
        );
        assert.equal(await adapter.release({ resource, token: 'long', limit: 2 }), true);
      }),
    );

    test.it(
      'notifies release listeners of that resource only (at least once) of a release someone waited for, and stops after unsubscribe',
      withAdapter(async (adapter) => {
        const resource = res();
        const other = res();
        let calls = 0;
        let otherCalls = 0;
        const sub = await adapter.onRelease(resource, 1, () => {
          calls += 1;
        });
        const otherSub = await adapter.onRelease(other, 1, () => {
          otherCalls += 1;
        });
        assert.ok((await adapter.acquire({ resource, token: 'a', ttlMs: 10_000, limit: 1 })).acquired);
        // A waiter: refused while the hold lasts (an adapter may skip notifying releases nobody waited for).
        assert.equal(
          (await adapter.acquire({ resource, token: 'w', ttlMs: 10_000, limit: 1 })).acquired,
          false,
        );
        assert.equal(await adapter.release({ resource, token: 'a', limit: 1 }), true);
        for (let i = 0; i < 100 && calls === 0; i++) await delay(10);
        // At least once: an adapter over several servers may deliver one per server.
        assert.ok(calls >= 1, 'the release was not delivered');
        assert.equal(otherCalls, 0);
        await delay(50);
        const delivered = calls;
        await sub.unsubscribe();
        await sub.unsubscribe();
        await otherSub.unsubscribe();
        assert.ok((await adapter.acquire({ resource, token: 'b', ttlMs: 10_000, limit: 1 })).acquired);
        assert.equal(
          (await adapter.acquire({ resource, token: 'w', ttlMs: 10_000, limit: 1 })).acquired,
          false,
        );
        assert.equal(await adapter.release({ resource, token: 'b', limit: 1 }), true);
        await delay(100);
        assert.equal(calls, delivered, 'delivered after unsubscribe');
      }),
    );

    test.it(
      'closes once: every close() gets the same promise, and later calls reject with ClosedError',
      async () => {
        const adapter = await options.create();
        try {
          assert.ok(
            (await adapter.acquire({ resource: res(), token: 'a', ttlMs: 10_000, limit: 1 })).acquired,
          );
          const first = adapter.close();
          assert.equal(adapter.close(), first, "a second close() must return the first one's promise");
          await first;
          await assert.rejects(
            adapter.acquire({ resource: res(), token: 'b', ttlMs: 10_000, limit: 1 }),
            (err: unknown) => (err as { code?: unknown }).code === 'ERR_CLOSED',
          );
        } finally {
          await options.destroy?.(adapter);
        }
      },
    );

    test.it(
      "calls each release listener in the async context of its onRelease() call, not the releaser's",
      withAdapter(async (adapter) => {
        const als = new AsyncLocalStorage<string>();
        const resource = res();
        const seen: Array<string | undefined> = [];
        // The first subscription may open the adapter's subscriber connection.
        const first = await als.run('first', () => adapter.onRelease(res(), 1, () => {}));
        const sub = await als.run('second', () =>
          adapter.onRelease(resource, 1, () => void seen.push(als.getStore())),
        );
        await als.run('releaser', async () => {
          assert.ok((await adapter.acquire({ resource, token: 'a', ttlMs: 10_000, limit: 1 })).acquired);
          assert.equal(
            (await adapter.acquire({ resource, token: 'w', ttlMs: 10_000, limit: 1 })).acquired,
            false,
          );
          assert.equal(await adapter.release({ resource, token: 'a', limit: 1 }), true);
        });
        for (let i = 0; i < 100 && seen.length === 0; i++) await delay(10);
        assert.ok(seen.length >= 1, 'the release was not delivered');
        assert.deepEqual(new Set(seen), new Set(['second']));
        await sub.unsubscribe();
        await first.unsubscribe();
      }),
    );
  });
}
