import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisSessionAdapter } from '../../../src/adapters/redis/session.js';
import { isScaleoutError } from '../../../src/errors.js';
import { SessionStore } from '../../../src/session/session-store.js';
import { uniquePrefix } from '../../helpers/keys.js';
import { type RedisClusterFixture, startRedisCluster } from '../../helpers/redis-cluster.js';

describe('SessionStore.regenerate on Redis Cluster (3 masters on loopback)', () => {
  let cluster: RedisClusterFixture;
  let store: SessionStore<{ n: number }>;

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
    await cluster.waitHealthy();
    store = new SessionStore({
      adapter: new RedisSessionAdapter({ connection: cluster.client(), prefix: uniquePrefix('sess') }),
      ttlMs: 60_000,
    });
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await cluster?.stop();
  });

  it('moves data, version, owner and index entry across slots', async () => {
    const s = await store.create({ n: 1 }, { userId: 'cu-1' });
    await store.update(s.id, { n: 2 }, { expectedVersion: 1 });
    const fresh = await store.regenerate(s.id);
    expect(fresh).toMatchObject({ data: { n: 2 }, version: 2, userId: 'cu-1', ttlMs: 60_000 });
    expect(await store.get(s.id)).toBeUndefined();
    expect((await store.get(fresh!.id))?.version).toBe(2);
    expect(await store.destroyAllForUser('cu-1')).toBe(1);
    expect(await store.get(fresh!.id)).toBeUndefined();
  });

  it('regenerate racing update: every update either moves along or fails typed, none is lost', async () => {
    let s = await store.create({ n: 0 }, { userId: 'cu-2' });
    let landed = 0;
    for (let round = 0; round < 100; round++) {
      const [updated, fresh] = await Promise.allSettled([
        store.update(s.id, (d) => ({ n: d.n + 1 })),
        store.regenerate(s.id),
      ]);
      if (updated.status === 'fulfilled') landed++;
      else expect(isScaleoutError(updated.reason, 'ERR_SESSION_NOT_FOUND')).toBe(true);
      expect(fresh.status === 'fulfilled' && fresh.value !== undefined).toBe(true);
      s = (fresh as PromiseFulfilledResult<typeof s>).value;
    }
    const final = await store.get(s.id);
    expect(final?.data.n).toBe(landed);
    expect(final?.version).toBe(landed + 1);
  }, 60_000);
});
