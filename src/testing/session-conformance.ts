import assert from 'node:assert/strict';
import type { SessionAdapter } from '../contracts/session.js';
import { isScaleoutError } from '../errors.js';
import { SessionStore } from '../session/session-store.js';
import type { ConformanceOptions } from './test-api.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Options of {@link sessionAdapterConformance}.
 *
 * @example
 * ```ts
 * sessionAdapterConformance({ name: 'memory', test, create: () => memorySessionAdapter(), concurrentPairs: 200 });
 * ```
 */
export interface SessionConformanceOptions extends ConformanceOptions<SessionAdapter> {
  /** Pairs of concurrent updates in the lost-update test. @default 1000 */
  concurrentPairs?: number;
}

/**
 * The behaviour every {@link SessionAdapter} must show, checked through a
 * {@link SessionStore}: round trips, sliding expiry, versioned updates with
 * no lost write under concurrency, id rotation, per-user logout, and refusal
 * of malformed ids. Uses real time for expiry (a few hundred ms).
 *
 * @example
 * ```ts
 * import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from 'vitest';
 * sessionAdapterConformance({
 *   name: 'my adapter',
 *   test: { describe, it, beforeAll, afterAll, beforeEach, afterEach },
 *   create: () => new MySessionAdapter(),
 *   destroy: (adapter) => adapter.close(),
 * });
 * ```
 */
export function sessionAdapterConformance(options: SessionConformanceOptions): void {
  const { test } = options;
  const pairs = options.concurrentPairs ?? 1000;

  test.describe(`SessionAdapter conformance: ${options.name}`, () => {
    let adapter: SessionAdapter;
    let store: SessionStore<Record<string, unknown>>;

    test.beforeEach(async () => {
      adapter = await options.create();
      store = new SessionStore({ adapter, ttlMs: 60_000 });
    });
    test.afterEach(async () => {
      await options.destroy?.(adapter);
    });

    test.it('creates a session with a 256-bit base64url id and reads it back', async () => {
      const s = await store.create({ cart: ['a'], n: 1 }, { userId: 'user-1' });
      assert.match(s.id, /^[A-Za-z0-9_-]{43}$/);
      assert.equal(s.version, 1);
      const read = await store.get(s.id);
      assert.deepEqual(read, {
        id: s.id,
        data: { cart: ['a'], n: 1 },
        version: 1,
        userId: 'user-1',
        ttlMs: 60_000,
      });
      const other = await store.create({});
      assert.notEqual(other.id, s.id);
      assert.equal((await store.get(other.id))?.userId, undefined);
    });

    test.it('reads malformed, oversized and unknown ids as no session', async () => {
      const s = await store.create({ a: 1 });
      const bad = [
        '',
        '*',
        `${s.id}*`,
        `${s.id}x`,
        s.id.slice(1),
        '../../etc/passwd',
        'a'.repeat(100_000),
        `${s.id.slice(0, 42)}\n`,
      ];
      for (const id of bad) {
        assert.equal(await store.get(id), undefined);
        assert.equal(await store.touch(id), undefined);
        assert.equal(await store.destroy(id), false);
        assert.equal(await store.regenerate(id), undefined);
        await assert.rejects(
          store.update(id, (d) => d),
          (e) => isScaleoutError(e, 'ERR_SESSION_NOT_FOUND'),
        );
      }
      assert.equal(await store.get('A'.repeat(43)), undefined);
      assert.deepEqual((await store.get(s.id))?.data, { a: 1 });
    });

    test.it(
      'expires sessions after ttlMs; touch slides the expiry and get does not',
      async () => {
        const touched = await store.create({ k: 'touched' }, { ttlMs: 600 });
        const idle = await store.create({ k: 'idle' }, { ttlMs: 600 });
        for (let i = 0; i < 4; i++) {
          await sleep(250);
          assert.equal((await store.touch(touched.id))?.data.k, 'touched');
          await store.get(idle.id);
        }
        // 1000 ms have passed: the idle one (only read) is gone, the touched one lives.
        assert.equal(await store.get(idle.id), undefined);
        assert.equal((await store.get(touched.id))?.data.k, 'touched');
        await sleep(900);
        assert.equal(await store.get(touched.id), undefined);
      },
      15_000,
    );

    test.it('update with expectedVersion writes once and refuses a stale version', async () => {
      const s = await store.create({ n: 0 }, { userId: 'u' });
      const v2 = await store.update(s.id, { n: 1 }, { expectedVersion: 1 });
      assert.equal(v2.version, 2);
      assert.equal(v2.userId, 'u');
      await assert.rejects(store.update(s.id, { n: 99 }, { expectedVersion: 1 }), (e) => {
        assert.ok(isScaleoutError(e, 'ERR_SESSION_CONFLICT'));
        assert.equal((e as { actualVersion?: number }).actualVersion, 2);
        return true;
      });
      assert.deepEqual((await store.get(s.id))?.data, { n: 1 });
      await store.destroy(s.id);
      await assert.rejects(store.update(s.id, { n: 2 }, { expectedVersion: 2 }), (e) =>
        isScaleoutError(e, 'ERR_SESSION_NOT_FOUND'),
      );
    });

    test.it(
      'update extends the lifetime',
      async () => {
        const s = await store.create({ n: 0 }, { ttlMs: 600 });
        await sleep(400);
        await store.update(s.id, (d) => ({ n: (d.n as number) + 1 }));
        await sleep(400);
        assert.deepEqual((await store.get(s.id))?.data, { n: 1 });
      },
      10_000,
    );

    test.it(
      'update and touch with ttlMs set a new sliding lifetime, longer or shorter',
      async () => {
        const s = await store.create({ n: 0 }, { ttlMs: 300 });
        // Lengthened by update: outlives its first ttl, and touches slide by the new one.
        const longer = await adapter.update({ id: s.id, data: '{"n":1}', expectedVersion: 1, ttlMs: 60_000 });
        assert.equal(longer.status === 'ok' && longer.record.ttlMs, 60_000);
        assert.equal((await adapter.touch(s.id))?.ttlMs, 60_000);
        assert.equal((await adapter.get(s.id))?.ttlMs, 60_000);
        // Shortened by touch: the record says so and it expires by it.
        assert.equal((await adapter.touch(s.id, { ttlMs: 400 }))?.ttlMs, 400);
        assert.equal((await adapter.get(s.id))?.ttlMs, 400);
        await sleep(700);
        assert.equal(await adapter.get(s.id), undefined);
        // Shortened by update.
        const t = await store.create({ n: 0 }, { ttlMs: 60_000 });
        const shorter = await adapter.update({ id: t.id, data: '{"n":1}', expectedVersion: 1, ttlMs: 400 });
        assert.equal(shorter.status === 'ok' && shorter.record.ttlMs, 400);
        await sleep(700);
        assert.equal(await adapter.get(t.id), undefined);
      },
      10_000,
    );

    test.it(
      `loses no write across ${pairs} pairs of concurrent merge updates`,
      async () => {
        const s = await store.create({ items: [] as number[] });
        for (let i = 0; i < pairs; i++) {
          await Promise.all([
            store.update(s.id, (d) => ({ items: [...(d.items as number[]), 2 * i] })),
            store.update(s.id, (d) => ({ items: [...(d.items as number[]), 2 * i + 1] })),
          ]);
        }
        const final = await store.get(s.id);
        const items = ((final?.data.items ?? []) as number[]).slice().sort((a, b) => a - b);
        assert.equal(items.length, 2 * pairs);
        assert.deepEqual(
          items,
          Array.from({ length: 2 * pairs }, (_, i) => i),
        );
        assert.equal(final?.version, 2 * pairs + 1);
      },
      120_000,
    );

    test.it(
      `with expectedVersion, exactly one of each of ${pairs} concurrent pairs wins`,
      async () => {
        const s = await store.create({ winners: [] as number[] });
        let conflicts = 0;
        for (let i = 0; i < pairs; i++) {
          const current = (await store.get(s.id))!;
          const results = await Promise.allSettled(
            [0, 1].map((k) =>
              store.update(
                s.id,
                { winners: [...(current.data.winners as number[]), 2 * i + k] },
                { expectedVersion: current.version },
              ),
            ),
          );
          const won = results.filter((r) => r.status === 'fulfilled').length;
          const lost = results.filter(
            (r) => r.status === 'rejected' && isScaleoutError(r.reason, 'ERR_SESSION_CONFLICT'),
          );
          assert.equal(won, 1);
          conflicts += lost.length;
        }
        const final = (await store.get(s.id))!;
        assert.equal(conflicts, pairs);
        assert.equal((final.data.winners as number[]).length, pairs);
        assert.equal(final.version, pairs + 1);
      },
      120_000,
    );

    test.it('regenerate moves data and owner to a new id and kills the old one', async () => {
      const s = await store.create({ role: 'guest' }, { userId: 'u-regen' });
      await store.update(s.id, { role: 'member' }, { expectedVersion: 1 });
      const fresh = await store.regenerate(s.id);
      assert.ok(fresh);
      assert.notEqual(fresh.id, s.id);
      assert.equal(await store.get(s.id), undefined);
      assert.deepEqual((await store.get(fresh.id))?.data, { role: 'member' });
      assert.equal((await store.get(fresh.id))?.userId, 'u-regen');
      assert.equal(await store.destroyAllForUser('u-regen'), 1);
      assert.equal(await store.get(fresh.id), undefined);
    });

    test.it(
      'regenerate keeps the version and the remaining lifetime; a taken id is not overwritten',
      async () => {
        const s = await store.create({ v: 0 }, { userId: 'u-keep' });
        await store.update(s.id, { v: 1 }, { expectedVersion: 1 });
        const fresh = await store.regenerate(s.id);
        assert.ok(fresh);
        assert.equal(fresh.version, 2);
        assert.equal(fresh.ttlMs, 60_000);
        // The version moved with the record: a write expecting it succeeds.
        const written = await store.update(fresh.id, { v: 2 }, { expectedVersion: 2 });
        assert.equal(written.version, 3);
        await assert.rejects(
          () => store.update(s.id, { v: 9 }, { expectedVersion: 2 }),
          (e) => isScaleoutError(e, 'ERR_SESSION_NOT_FOUND'),
        );
        const other = await store.create({ other: true });
        assert.deepEqual(await adapter.move({ id: fresh.id, newId: other.id }), { status: 'taken' });
        assert.deepEqual((await store.get(other.id))?.data, { other: true });
        assert.deepEqual((await store.get(fresh.id))?.data, { v: 2 });
        assert.deepEqual(await adapter.move({ id: s.id, newId: 'A'.repeat(43) }), { status: 'missing' });
      },
    );

    test.it(
      'regenerate racing update: every update either moves along or fails typed, none is lost',
      async () => {
        let s = await store.create({ n: 0 }, { userId: 'u-race' });
        let landed = 0;
        let notFound = 0;
        for (let round = 0; round < 200; round++) {
          const [updated, fresh] = await Promise.allSettled([
            store.update(s.id, (d) => ({ ...d, n: (d.n as number) + 1 })),
            store.regenerate(s.id),
          ]);
          if (updated.status === 'fulfilled') landed++;
          else {
            assert.ok(isScaleoutError(updated.reason, 'ERR_SESSION_NOT_FOUND'), String(updated.reason));
            notFound++;
          }
          assert.equal(fresh.status, 'fulfilled');
          assert.ok(fresh.value, 'regenerate found the session');
          assert.equal(await store.get(s.id), undefined);
          s = fresh.value;
        }
        const final = await store.get(s.id);
        assert.ok(final);
        assert.equal(final.data.n, landed, `${landed} updates landed, ${notFound} failed typed`);
        assert.equal(final.version, landed + 1);
        assert.equal(await store.destroyAllForUser('u-race'), 1);
      },
      60_000,
    );

    test.it(
      'destroyAllForUser racing regenerate: no session that existed before it survives it',
      async () => {
        for (let round = 0; round < 10; round++) {
          const user = `u-fix-${round}`;
          const before = await Promise.all(
            Array.from({ length: 8 }, () => store.create({}, { userId: user })),
          );
          const regenerating = Promise.all(before.map((b) => store.regenerate(b.id)));
          const destroyed = await store.destroyAllForUser(user);
          const fresh = await regenerating;
          assert.equal(destroyed, 8);
          for (const f of fresh) if (f !== undefined) assert.equal(await store.get(f.id), undefined);
          for (const b of before) assert.equal(await store.get(b.id), undefined);
        }
      },
      60_000,
    );

    test.it(
      'destroyAllForUser racing logins: earlier sessions go; a concurrent login may stay, and stays indexed',
      async () => {
        for (let round = 0; round < 10; round++) {
          const user = `u-login-${round}`;
          const earlier = await Promise.all(
            Array.from({ length: 5 }, () => store.create({}, { userId: user })),
          );
          const logins = Promise.all(Array.from({ length: 5 }, () => store.create({}, { userId: user })));
          await store.destroyAllForUser(user);
          const concurrent = await logins;
          for (const e of earlier) assert.equal(await store.get(e.id), undefined);
          // Whatever survived is reachable through the index: a second call removes it.
          await store.destroyAllForUser(user);
          for (const c of concurrent) assert.equal(await store.get(c.id), undefined);
        }
      },
      60_000,
    );

    test.it('destroyAllForUser ends sessions whose ids the adapter accepted in any form', async () => {
      // Adapters are public: ids need not be SessionStore's 43-character ones.
      const ids = ['0b6f3c1e-8f4a-4d2b-9c1e-2f3a4b5c6d7e', 'short', 'x'.repeat(1024)];
      for (const id of ids) {
        assert.equal(await adapter.create({ id, data: '{}', userId: 'u-any-id', ttlMs: 60_000 }), true);
      }
      assert.equal(await adapter.destroyAllForUser('u-any-id'), ids.length);
      for (const id of ids) assert.equal(await adapter.get(id), undefined);
    });

    test.it('destroy removes one session; destroyAllForUser removes exactly that user’s', async () => {
      const a1 = await store.create({ d: 1 }, { userId: 'alice' });
      const a2 = await store.create({ d: 2 }, { userId: 'alice' });
      const a3 = await store.create({ d: 3 }, { userId: 'alice' });
      const b1 = await store.create({ d: 4 }, { userId: 'bob' });
      const anon = await store.create({ d: 5 });
      assert.equal(await store.destroy(a3.id), true);
      assert.equal(await store.destroy(a3.id), false);
      assert.equal(await store.destroyAllForUser('alice'), 2);
      assert.equal(await store.get(a1.id), undefined);
      assert.equal(await store.get(a2.id), undefined);
      assert.ok(await store.get(b1.id));
      assert.ok(await store.get(anon.id));
      assert.equal(await store.destroyAllForUser('alice'), 0);
      assert.equal(await store.destroyAllForUser('nobody'), 0);
      const a4 = await store.create({ d: 6 }, { userId: 'alice' });
      assert.ok(await store.get(a4.id));
    });

    test.it('refuses bad user ids and ttls with typed errors', async () => {
      await assert.rejects(store.create({}, { userId: '' }), (e) =>
        isScaleoutError(e, 'ERR_INVALID_ARGUMENT'),
      );
      await assert.rejects(store.create({}, { userId: 'a\nb' }), (e) =>
        isScaleoutError(e, 'ERR_INVALID_ARGUMENT'),
      );
      await assert.rejects(store.create({}, { ttlMs: 0 }), (e) => isScaleoutError(e, 'ERR_INVALID_ARGUMENT'));
      await assert.rejects(store.destroyAllForUser('x'.repeat(300)), (e) =>
        isScaleoutError(e, 'ERR_INVALID_ARGUMENT'),
      );
      await assert.rejects(store.create({ ['__proto__']: {} } as never), (e) =>
        isScaleoutError(e, 'ERR_UNSAFE_PAYLOAD'),
      );
    });

    test.it('two stores share one adapter: closing either leaves the other working', async () => {
      const other = new SessionStore<Record<string, unknown>>({ adapter, ttlMs: 60_000 });
      const mine = await store.create({ a: 1 }, { userId: 'shared-owner' });
      const theirs = await other.create({ b: 2 }, { userId: 'shared-owner' });
      await other.close();
      await assert.rejects(other.get(theirs.id), (e) => isScaleoutError(e, 'ERR_CLOSED'));
      // The adapter was passed in: the closed store left it open for the other.
      assert.deepEqual((await store.get(theirs.id))?.data, { b: 2 });
      assert.equal((await store.touch(mine.id))?.version, 1);
      assert.equal((await store.update(mine.id, (d) => ({ ...d, c: 3 }))).version, 2);
      const moved = await store.regenerate(mine.id);
      assert.ok(moved !== undefined);
      assert.equal(await store.destroyAllForUser('shared-owner'), 2);
      // And the other way round: a third store goes on after the first closes.
      const third = new SessionStore<Record<string, unknown>>({ adapter, ttlMs: 60_000 });
      await store.close();
      const later = await third.create({ c: 3 });
      assert.deepEqual((await third.get(later.id))?.data, { c: 3 });
      await third.close();
    });
  });
}
