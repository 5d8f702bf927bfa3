import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisConnectionHandle } from '../../../src/adapters/redis/connection.js';
import { taggedKey } from '../../../src/adapters/redis/keys.js';
import { defineRedisScript } from '../../../src/adapters/redis/scripts.js';
import { deleteKeysWithPrefix, uniquePrefix } from '../../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';

const setAndCount = defineRedisScript({
  name: 'set-and-count',
  keys: 2,
  lua: `
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    return redis.call('INCR', KEYS[2])
  `,
});

describe('real redis-server harness', () => {
  let server: RedisServer;
  let prefix: string;

  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server.stop();
  });
  afterEach(async () => {
    const admin = server.client();
    await deleteKeysWithPrefix(admin, prefix);
    admin.disconnect();
  });

  it('round-trips through a real server on an ephemeral port, by SHA after the first call', async () => {
    prefix = uniquePrefix('harness');
    const handle = new RedisConnectionHandle(server.url);
    expect(handle.owned).toBe(true);
    const client = handle.client;
    const valueKey = taggedKey(prefix, 'item', 'value');
    const counterKey = taggedKey(prefix, 'item', 'count');

    const info = await server.client().info('server');
    expect(info).toContain(`tcp_port:${server.port}`);
    await server.client().config('RESETSTAT');

    expect(await setAndCount.run(client, [valueKey, counterKey], ['hello', 60_000])).toBe(1);
    expect(await setAndCount.run(client, [valueKey, counterKey], ['again', 60_000])).toBe(2);
    expect(await client.get(valueKey)).toBe('again');
    const pttl = await client.pttl(valueKey);
    expect(pttl).toBeGreaterThan(59_000);

    const stats = await server.client().info('commandstats');
    // First call: EVALSHA answered NOSCRIPT, then EVAL loaded it; second call: EVALSHA only.
    expect(stats).toMatch(/cmdstat_evalsha:calls=2,.*failed_calls=1/);
    expect(stats).toMatch(/cmdstat_eval:calls=1,/);
    await handle.close();
    expect(client.status).toBe('end');
  });

  it('reloads a script after a restart emptied the script cache', async () => {
    prefix = uniquePrefix('restart');
    const client = server.client({ maxRetriesPerRequest: null });
    const keys = [taggedKey(prefix, 'x', 'v'), taggedKey(prefix, 'x', 'c')];
    expect(await setAndCount.run(client, keys, ['a', 1000])).toBe(1);
    await server.restart();
    // Data is gone (no persistence) and so is the script cache: the NOSCRIPT fallback reloads it.
    expect(await setAndCount.run(client, keys, ['b', 1000])).toBe(1);
  });

  it('cleans up keys by prefix and only those', async () => {
    prefix = uniquePrefix('cleanup');
    const client = server.client();
    await client.mset(`${prefix}a`, '1', `${prefix}b`, '2', 'other:key', '3');
    expect(await deleteKeysWithPrefix(client, prefix)).toBe(2);
    expect(await client.get('other:key')).toBe('3');
    await client.del('other:key');
  });

  it('pause freezes the server and resume brings it back', async () => {
    prefix = uniquePrefix('pause');
    const client = server.client({ commandTimeout: 200, maxRetriesPerRequest: 0 });
    expect(await client.ping()).toBe('PONG');
    server.pause();
    await expect(client.ping()).rejects.toThrow(/timed out/i);
    server.resume();
    const again = server.client();
    expect(await again.ping()).toBe('PONG');
  });
});
