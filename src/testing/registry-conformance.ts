import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import type { RegistryAdapter, RegistryChange, RegistryRecord } from '../contracts/registry.js';
import { isScaleoutError } from '../errors.js';
import type { ConformanceOptions } from './test-api.js';

function record(
  service: string,
  port: number,
  owner: string,
  extra: Partial<RegistryRecord> = {},
): RegistryRecord {
  const url = `http://127.0.0.1:${port}/`;
  return { service, id: url, url, weight: 1, metadata: {}, owner, registeredAt: Date.now(), ...extra };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function until(what: string, check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await delay(10);
  }
}

/**
 * The behaviour every {@link RegistryAdapter} must show: leases that expire
 * without a heartbeat, owner-checked heartbeats and deregistrations, prompt
 * change announcements, isolation between services. Leases here are short
 * (a few hundred ms), so the suite runs in a few seconds.
 *
 * @example
 * ```ts
 * import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from 'vitest';
 * import { memoryRegistryAdapter } from 'scaleout';
 * import { registryAdapterConformance } from 'scaleout/testing';
 * registryAdapterConformance({
 *   name: 'memory',
 *   test: { describe, it, beforeAll, afterAll, beforeEach, afterEach },
 *   create: () => memoryRegistryAdapter(),
 *   destroy: (adapter) => adapter.close(),
 * });
 * ```
 */
export function registryAdapterConformance(options: ConformanceOptions<RegistryAdapter>): void {
  const { test } = options;
  test.describe(`RegistryAdapter conformance: ${options.name}`, () => {
    let adapter: RegistryAdapter;
    test.beforeEach(async () => {
      adapter = await options.create();
    });
    test.afterEach(async () => {
      await options.destroy?.(adapter);
    });

    test.it('lists a registered record with its weight, metadata and a future expiry', async () => {
      const r = record('orders', 4001, 'o1', { weight: 3, metadata: { zone: 'eu-1', version: '2.1' } });
      const result = await adapter.register(r, { ttlMs: 10_000 });
      assert.equal(result.replacedOwner, undefined);
      assert.ok(result.expiresAt >= result.now + 9_000);
      const { instances, now } = await adapter.list('orders');
      assert.equal(instances.length, 1);
      assert.deepEqual(instances[0]!.record, r);
      assert.ok(instances[0]!.expiresAt > now);
    });

    test.it('keeps services apart, including names with braces, colons and unicode', async () => {
      await adapter.register(record('a', 4001, 'o'), { ttlMs: 10_000 });
      await adapter.register(record('a:b{c}', 4002, 'o'), { ttlMs: 10_000 });
      await adapter.register(record('zahlungs-dienst-ü', 4003, 'o'), { ttlMs: 10_000 });
      assert.deepEqual(
        (await adapter.list('a')).instances.map((i) => i.record.id),
        ['http://127.0.0.1:4001/'],
      );
      assert.deepEqual(
        (await adapter.list('a:b{c}')).instances.map((i) => i.record.id),
        ['http://127.0.0.1:4002/'],
      );
      assert.equal((await adapter.list('zahlungs-dienst-ü')).instances.length, 1);
      assert.deepEqual((await adapter.list('unknown')).instances, []);
    });

    test.it('lets a lease expire without a heartbeat, and announces it as down', async () => {
      const changes: RegistryChange[] = [];
      const subscription = await adapter.subscribe('expiring', (c) => changes.push(c));
      await adapter.register(record('expiring', 4001, 'o'), { ttlMs: 200 });
      await adapter.register(record('expiring', 4002, 'o'), { ttlMs: 10_000 });
      await delay(350);
      const { instances } = await adapter.list('expiring');
      assert.deepEqual(
        instances.map((i) => i.record.id),
        ['http://127.0.0.1:4002/'],
      );
      await until('an expired announcement', () =>
        changes.some((c) => c.type === 'down' && c.reason === 'expired' && c.id === 'http://127.0.0.1:4001/'),
      );
      await subscription.unsubscribe();
    });

    test.it('renews a lease on heartbeat from its owner', async () => {
      await adapter.register(record('beating', 4001, 'o'), { ttlMs: 600 });
      for (let i = 0; i < 4; i++) {
        await delay(200);
        const beat = await adapter.heartbeat('beating', 'http://127.0.0.1:4001/', 'o', { ttlMs: 600 });
        assert.equal(beat.status, 'renewed');
        assert.ok(beat.expiresAt! >= beat.now + 550);
      }
      assert.equal((await adapter.list('beating')).instances.length, 1);
    });

    test.it('answers lost for an unknown or expired lease, taken for a foreign owner', async () => {
      const lost = await adapter.heartbeat('beating', 'http://127.0.0.1:4009/', 'o', { ttlMs: 1000 });
      assert.equal(lost.status, 'lost');
      await adapter.register(record('beating', 4001, 'mine'), { ttlMs: 10_000 });
      const taken = await adapter.heartbeat('beating', 'http://127.0.0.1:4001/', 'yours', { ttlMs: 1000 });
      assert.equal(taken.status, 'taken');
      await adapter.register(record('beating', 4002, 'mine'), { ttlMs: 150 });
      await delay(300);
      const expired = await adapter.heartbeat('beating', 'http://127.0.0.1:4002/', 'mine', { ttlMs: 1000 });
      assert.equal(expired.status, 'lost');
    });

    test.it('removes a record at once on deregister by its owner, and announces it', async () => {
      const changes: RegistryChange[] = [];
      const subscription = await adapter.subscribe('leaving', (c) => changes.push(c));
      await adapter.register(record('leaving', 4001, 'o'), { ttlMs: 60_000 });
      assert.equal(await adapter.deregister('leaving', 'http://127.0.0.1:4001/', 'o'), true);
      assert.deepEqual((await adapter.list('leaving')).instances, []);
      await until('a deregistered announcement', () =>
        changes.some((c) => c.type === 'down' && c.reason === 'deregistered'),
      );
      assert.equal(await adapter.deregister('leaving', 'http://127.0.0.1:4001/', 'o'), false);
      await subscription.unsubscribe();
    });

    test.it('refuses to deregister a record for another owner and leaves it in place', async () => {
      await adapter.register(record('guarded', 4001, 'owner-a'), { ttlMs: 60_000 });
      assert.equal(await adapter.deregister('guarded', 'http://127.0.0.1:4001/', 'owner-b'), false);
      assert.equal((await adapter.list('guarded')).instances.length, 1);
    });

    test.it('lets a new registration of the same id take over, reporting the old owner', async () => {
      await adapter.register(record('restarted', 4001, 'first'), { ttlMs: 60_000 });
      const again = await adapter.register(record('restarted', 4001, 'second', { weight: 5 }), {
        ttlMs: 60_000,
      });
      assert.equal(again.replacedOwner, 'first');
      const { instances } = await adapter.list('restarted');
      assert.equal(instances.length, 1);
      assert.equal(instances[0]!.record.owner, 'second');
      assert.equal(instances[0]!.record.weight, 5);
      const beat = await adapter.heartbeat('restarted', 'http://127.0.0.1:4001/', 'first', { ttlMs: 1000 });
      assert.equal(beat.status, 'taken');
      const same = await adapter.register(record('restarted', 4001, 'second'), { ttlMs: 60_000 });
      assert.equal(same.replacedOwner, undefined);
    });

    test.it('announces registrations as up with the record and its expiry', async () => {
      const changes: RegistryChange[] = [];
      const subscription = await adapter.subscribe('announced', (c) => changes.push(c));
      const other: RegistryChange[] = [];
      const otherSubscription = await adapter.subscribe('elsewhere', (c) => other.push(c));
      const r = record('announced', 4001, 'o', { metadata: { zone: 'b' } });
      const { expiresAt } = await adapter.register(r, { ttlMs: 5000 });
      await until('an up announcement', () => changes.some((c) => c.type === 'up'));
      const up = changes.find((c) => c.type === 'up');
      assert.ok(up !== undefined && up.type === 'up');
      assert.deepEqual(up.lease.record, r);
      assert.equal(up.lease.expiresAt, expiresAt);
      assert.deepEqual(other, []);
      await subscription.unsubscribe();
      await otherSubscription.unsubscribe();
    });

    test.it('stops delivering changes after unsubscribe, which is idempotent', async () => {
      const changes: RegistryChange[] = [];
      const kept: RegistryChange[] = [];
      const subscription = await adapter.subscribe('quiet', (c) => changes.push(c));
      const other = await adapter.subscribe('quiet', (c) => kept.push(c));
      await subscription.unsubscribe();
      await subscription.unsubscribe();
      await adapter.register(record('quiet', 4001, 'o'), { ttlMs: 5000 });
      await until('the other subscription to hear it', () => kept.length > 0);
      await delay(100);
      assert.deepEqual(changes, []);
      await other.unsubscribe();
    });

    test.it(
      "calls each listener in the async context of its subscribe() call, not the registrar's",
      async () => {
        const als = new AsyncLocalStorage<string>();
        const seen: Array<string | undefined> = [];
        // The first subscription may open the adapter's subscriber connection.
        const first = await als.run('first', () => adapter.subscribe('elsewhere', () => {}));
        const subscription = await als.run('second', () =>
          adapter.subscribe('context', () => void seen.push(als.getStore())),
        );
        await als.run('registrar', () => adapter.register(record('context', 4001, 'o'), { ttlMs: 5000 }));
        await until('an announcement', () => seen.length > 0);
        assert.deepEqual(new Set(seen), new Set(['second']));
        await subscription.unsubscribe();
        await first.unsubscribe();
      },
    );

    test.it('throws ClosedError after close, which may be called twice', async () => {
      const extra = await options.create();
      await Promise.all([extra.close(), extra.close()]);
      await extra.close();
      await assert.rejects(
        () => extra.list('any'),
        (err: unknown) => isScaleoutError(err, 'ERR_CLOSED'),
      );
    });
  });
}
