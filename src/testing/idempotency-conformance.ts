import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { IdempotencyStore } from '../contracts/idempotency.js';
import type { ConformanceOptions } from './test-api.js';

/**
 * Options of {@link idempotencyStoreConformance}.
 *
 * @example
 * ```ts
 * const options: IdempotencyStoreConformanceOptions = { name: 'mine', test, create: () => myStore() };
 * ```
 */
export type IdempotencyStoreConformanceOptions = ConformanceOptions<IdempotencyStore>;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The behaviour every {@link IdempotencyStore} must show: one claim wins
 * among concurrent ones, an in-progress key answers `busy` with the
 * holder's fingerprint, a completed key answers its response exactly as
 * stored, only the owner completes or releases, leases and stored responses
 * expire, and a closed store refuses work. Each test gets a fresh store
 * from `create`.
 *
 * @example
 * ```ts
 * import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from 'vitest';
 * import { memoryIdempotencyStore } from 'scaleout';
 * import { idempotencyStoreConformance } from 'scaleout/testing';
 *
 * idempotencyStoreConformance({
 *   name: 'memory',
 *   test: { describe, it, beforeAll, afterAll, beforeEach, afterEach },
 *   create: () => memoryIdempotencyStore(),
 *   destroy: (store) => store.close(),
 * });
 * ```
 */
export function idempotencyStoreConformance(options: IdempotencyStoreConformanceOptions): void {
  const { test } = options;
  const withStore = (fn: (store: IdempotencyStore) => Promise<void>) => async () => {
    const store = await options.create();
    try {
      await fn(store);
    } finally {
      await options.destroy?.(store);
    }
  };
  const key = () => `key-${randomUUID()}`;
  const long = 60_000;

  test.describe(`IdempotencyStore conformance: ${options.name}`, () => {
    test.it(
      'claims a free key once; others (and the owner again) find it busy with its fingerprint',
      withStore(async (store) => {
        const k = key();
        assert.deepEqual(await store.claim({ key: k, owner: 'a', fingerprint: 'fp-a', leaseMs: long }), {
          status: 'claimed',
        });
        const other = await store.claim({ key: k, owner: 'b', fingerprint: 'fp-b', leaseMs: long });
        assert.equal(other.status, 'busy');
        assert.ok(other.status === 'busy' && other.fingerprint === 'fp-a');
        assert.ok(other.status === 'busy' && other.retryAfterMs > 0 && other.retryAfterMs <= long);
        const again = await store.claim({ key: k, owner: 'a', fingerprint: 'fp-a', leaseMs: long });
        assert.equal(again.status, 'busy', 'a claim is not re-entrant');
      }),
    );

    test.it(
      'grants exactly one of many concurrent claims',
      withStore(async (store) => {
        const k = key();
        const results = await Promise.all(
          Array.from({ length: 25 }, (_, i) =>
            store.claim({ key: k, owner: `o${i}`, fingerprint: 'fp', leaseMs: long }),
          ),
        );
        assert.equal(results.filter((r) => r.status === 'claimed').length, 1);
        assert.equal(results.filter((r) => r.status === 'busy').length, 24);
      }),
    );

    test.it(
      'completes for the owner and then answers the stored response, byte for byte',
      withStore(async (store) => {
        const k = key();
        const response = `{"t":"h","b":"${'é✓\u0000'.repeat(20_000)}"}`;
        await store.claim({ key: k, owner: 'a', fingerprint: 'fp', leaseMs: long });
        assert.equal(
          await store.complete({ key: k, owner: 'b', fingerprint: 'fp', response, ttlMs: long }),
          false,
        );
        assert.equal(
          await store.complete({ key: k, owner: 'a', fingerprint: 'fp', response, ttlMs: long }),
          true,
        );
        const replay = await store.claim({ key: k, owner: 'c', fingerprint: 'other', leaseMs: long });
        assert.deepEqual(replay, { status: 'completed', fingerprint: 'fp', response });
        assert.equal(
          await store.complete({ key: k, owner: 'a', fingerprint: 'fp', response: 'x', ttlMs: long }),
          false,
          'a completed record is not overwritten',
        );
        assert.equal(
          await store.release({ key: k, owner: 'a' }),
          false,
          'a completed record is not released',
        );
        const still = await store.claim({ key: k, owner: 'd', fingerprint: 'fp', leaseMs: long });
        assert.ok(still.status === 'completed' && still.response === response);
      }),
    );

    test.it(
      'releases only for the owner, and a released key can be claimed again',
      withStore(async (store) => {
        const k = key();
        await store.claim({ key: k, owner: 'a', fingerprint: 'fp', leaseMs: long });
        assert.equal(await store.release({ key: k, owner: 'forged' }), false);
        assert.equal(
          (await store.claim({ key: k, owner: 'b', fingerprint: 'fp', leaseMs: long })).status,
          'busy',
        );
        assert.equal(await store.release({ key: k, owner: 'a' }), true);
        assert.equal(await store.release({ key: k, owner: 'a' }), false);
        assert.equal(
          (await store.claim({ key: k, owner: 'b', fingerprint: 'fp2', leaseMs: long })).status,
          'claimed',
        );
        assert.equal(await store.release({ key: key(), owner: 'a' }), false, 'releasing a free key');
      }),
    );

    test.it(
      'frees an in-progress key when its lease runs out; the old owner still completes an absent key',
      withStore(async (store) => {
        const k = key();
        await store.claim({ key: k, owner: 'a', fingerprint: 'fp', leaseMs: 80 });
        await delay(250);
        assert.equal(
          (await store.claim({ key: k, owner: 'b', fingerprint: 'fp', leaseMs: long })).status,
          'claimed',
        );
        assert.equal(
          await store.complete({ key: k, owner: 'a', fingerprint: 'fp', response: 'late', ttlMs: long }),
          false,
          'the lease was taken over: the late owner must not overwrite',
        );
        assert.equal(await store.release({ key: k, owner: 'a' }), false);
        const lapsed = key();
        await store.claim({ key: lapsed, owner: 'a', fingerprint: 'fp', leaseMs: 80 });
        await delay(250);
        assert.equal(
          await store.complete({ key: lapsed, owner: 'a', fingerprint: 'fp', response: 'kept', ttlMs: long }),
          true,
          'a lapsed lease nobody took: the response is still kept',
        );
        const replay = await store.claim({ key: lapsed, owner: 'c', fingerprint: 'fp', leaseMs: long });
        assert.deepEqual(replay, { status: 'completed', fingerprint: 'fp', response: 'kept' });
      }),
    );

    test.it(
      'forgets a completed key after its ttl',
      withStore(async (store) => {
        const k = key();
        await store.claim({ key: k, owner: 'a', fingerprint: 'fp', leaseMs: long });
        assert.ok(await store.complete({ key: k, owner: 'a', fingerprint: 'fp', response: 'r', ttlMs: 400 }));
        assert.equal(
          (await store.claim({ key: k, owner: 'b', fingerprint: 'fp', leaseMs: long })).status,
          'completed',
        );
        await delay(1_000);
        assert.equal(
          (await store.claim({ key: k, owner: 'b', fingerprint: 'fp', leaseMs: long })).status,
          'claimed',
        );
      }),
    );

    test.it(
      'keeps keys apart, keys with braces, colons and non-ASCII included, and empty fingerprints',
      withStore(async (store) => {
        const keys = [key(), `${key()}:{tag}:x`, `${key()}-ключ-鍵`, `{${key()}}`];
        for (const [i, k] of keys.entries()) {
          assert.equal(
            (await store.claim({ key: k, owner: `o${i}`, fingerprint: '', leaseMs: long })).status,
            'claimed',
          );
        }
        assert.ok(
          await store.complete({
            key: keys[0]!,
            owner: 'o0',
            fingerprint: '',
            response: 'zero',
            ttlMs: long,
          }),
        );
        for (const [i, k] of keys.entries()) {
          const r = await store.claim({ key: k, owner: 'other', fingerprint: '', leaseMs: long });
          assert.equal(r.status, i === 0 ? 'completed' : 'busy');
          assert.equal(r.status === 'completed' || r.status === 'busy' ? r.fingerprint : undefined, '');
        }
      }),
    );

    test.it(
      'refuses malformed requests with a typed error, storing nothing',
      withStore(async (store) => {
        const k = key();
        const bad: unknown[] = [
          { key: '', owner: 'a', fingerprint: '', leaseMs: long },
          { key: k, owner: '', fingerprint: '', leaseMs: long },
          { key: k, owner: 'a', fingerprint: '', leaseMs: 0 },
          { key: k, owner: 'a', fingerprint: 'x'.repeat(10_000), leaseMs: long },
          { key: 'k\n', owner: 'a', fingerprint: '', leaseMs: long },
          null,
        ];
        for (const request of bad) {
          await assert.rejects(
            store.claim(request as never),
            (err: unknown) => (err as { code?: unknown }).code === 'ERR_INVALID_ARGUMENT',
          );
        }
        await assert.rejects(
          store.complete({ key: k, owner: 'a', fingerprint: '', response: 42 as never, ttlMs: long }),
          (err: unknown) => (err as { code?: unknown }).code === 'ERR_INVALID_ARGUMENT',
        );
        assert.equal(
          (await store.claim({ key: k, owner: 'a', fingerprint: '', leaseMs: long })).status,
          'claimed',
        );
      }),
    );

    test.it(
      'refuses work after close (ERR_CLOSED); close is idempotent',
      withStore(async (store) => {
        await store.close();
        await store.close();
        await assert.rejects(
          store.claim({ key: key(), owner: 'a', fingerprint: '', leaseMs: long }),
          (err: unknown) => (err as { code?: unknown }).code === 'ERR_CLOSED',
        );
      }),
    );
  });
}
