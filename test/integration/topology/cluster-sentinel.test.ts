import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisConnectionHandle } from '../../../src/adapters/redis/connection.js';
import { taggedKey } from '../../../src/adapters/redis/keys.js';
import { defineRedisScript } from '../../../src/adapters/redis/scripts.js';
import { type RedisClusterFixture, startRedisCluster } from '../../helpers/redis-cluster.js';
import { type RedisSentinelFixture, startRedisSentinel } from '../../helpers/redis-sentinel.js';

const setAndCount = defineRedisScript({
  name: 'set-and-count',
  keys: 2,
  lua: `
    redis.call('SET', KEYS[1], ARGV[1])
    return redis.call('INCR', KEYS[2])
  `,
});

describe('Redis Cluster (3 masters + 3 replicas on loopback)', () => {
  let cluster: RedisClusterFixture;

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('runs a two-key script on every master when the keys share a hash tag', async () => {
    const client = cluster.client();
    const handle = new RedisConnectionHandle(client);
    const ownerPorts = new Set<number>();
    for (let i = 0; i < 30; i++) {
      const keys = [taggedKey('t:', `item:${i}`, 'v'), taggedKey('t:', `item:${i}`, 'n')];
      expect(await setAndCount.run(handle.client, keys, [`v${i}`])).toBe(1);
      const slot = (await client.call('CLUSTER', 'KEYSLOT', keys[0]!)) as number;
      expect(await client.call('CLUSTER', 'KEYSLOT', keys[1]!)).toBe(slot);
      const owner = (client.slots[slot] ?? [])[0];
      if (owner) ownerPorts.add(Number(owner.split(':')[1]));
    }
    // The tags spread the items over all three masters.
    expect(ownerPorts.size).toBe(3);
    await handle.close();
    expect(client.status).toBe('ready');
  });

  it('refuses keys without a shared tag (CROSSSLOT), which is why adapters tag them', async () => {
    const client = cluster.client();
    // Find two plain keys that land in different slots.
    const a = 'plain:a';
    let b = 'plain:b';
    for (
      let i = 0;
      (await client.call('CLUSTER', 'KEYSLOT', b)) === (await client.call('CLUSTER', 'KEYSLOT', a));
      i++
    ) {
      b = `plain:b${i}`;
    }
    await expect(setAndCount.run(client, [a, b], ['x'])).rejects.toThrow(/CROSSSLOT/);
  });

  it('keeps serving scripts after a master dies and its replica takes over', async () => {
    const client = cluster.client({ clusterRetryStrategy: () => 100, maxRedirections: 32 });
    const keys = [taggedKey('t:', 'failover', 'v'), taggedKey('t:', 'failover', 'n')];
    expect(await setAndCount.run(client, keys, ['a'])).toBe(1);
    const slot = (await client.call('CLUSTER', 'KEYSLOT', keys[0]!)) as number;
    const ownerPort = Number((client.slots[slot] ?? [])[0]!.split(':')[1]);
    const victim = cluster.masters.find((m) => m.port === ownerPort)!;
    // Replication is asynchronous: wait until a replica holds the write, or the failover would lose it.
    const replicated = async () => {
      for (const replica of cluster.replicas) {
        const r = replica.client();
        await r.call('READONLY');
        const seen = await r.get(keys[1]!).catch(() => null);
        r.disconnect();
        if (seen === '1') return true;
      }
      return false;
    };
    for (let i = 0; i < 100 && !(await replicated()); i++) await new Promise((r) => setTimeout(r, 50));
    await victim.kill();
    await cluster.waitHealthy(30_000);
    // The promoted replica has the data (it was replicated) but not the script: NOSCRIPT -> EVAL.
    let result: unknown;
    for (let i = 0; i < 50; i++) {
      try {
        result = await setAndCount.run(client, keys, ['b']);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    expect(result).toBe(2);
  }, 60_000);
});

describe('Redis Sentinel (master, replica, 3 sentinels on loopback)', () => {
  let sentinel: RedisSentinelFixture;

  beforeAll(async () => {
    sentinel = await startRedisSentinel();
  }, 60_000);
  afterAll(async () => {
    await sentinel?.stop();
  });

  it('finds the master through the sentinels and follows a failover', async () => {
    const client = sentinel.client();
    const handle = new RedisConnectionHandle(client);
    const keys = [taggedKey('t:', 's', 'v'), taggedKey('t:', 's', 'n')];
    expect(await setAndCount.run(handle.client, keys, ['a'])).toBe(1);
    const before = await sentinel.masterPort();
    // Let the write reach the replica before failing over.
    await client.wait(1, 2000);
    const after = await sentinel.failover();
    expect(after).not.toBe(before);
    let result: unknown;
    for (let i = 0; i < 50; i++) {
      try {
        result = await setAndCount.run(handle.client, keys, ['b']);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    expect(result).toBe(2);
    expect(await client.get(keys[0]!)).toBe('b');
  }, 60_000);
});
