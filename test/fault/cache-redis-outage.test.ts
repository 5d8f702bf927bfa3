import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisCacheAdapter } from '../../src/adapters/redis/cache.js';
import { DistributedCache } from '../../src/cache/index.js';
import { uniquePrefix } from '../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('DistributedCache when redis-server is killed mid-run', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('keeps every getOrSet answering from L1 or the loader, and recovers by itself after a restart', async () => {
    const prefix = uniquePrefix('outage');
    const cache = new DistributedCache({
      adapter: redisCacheAdapter({ connection: server.client(), prefix }),
      operationTimeoutMs: 200,
      circuitThreshold: 3,
      circuitOpenMs: 300,
      graceMs: 60_000,
    });
    const states: string[] = [];
    const flushes: string[] = [];
    let dropped = 0;
    cache.on('circuit', (e) => states.push(e.state));
    cache.on('flush', (e) => flushes.push(e.reason));
    cache.on('error', (e) => {
      if (e.dropped) dropped++;
    });
    await cache.ready();

    const keys = Array.from({ length: 20 }, (_, i) => `item:${i}`);
    const loader = (key: string) => async () => ({ key, from: 'loader' });
    // Warm half of the keys (they are in L1 and Redis); the rest stay cold.
    for (const key of keys.slice(0, 10)) await cache.getOrSet(key, loader(key));

    let answered = 0;
    let failed = 0;
    let wrong = 0;
    let running = true;
    const callers = Array.from({ length: 10 }, async (_, n) => {
      let i = n;
      while (running) {
        const key = keys[i++ % keys.length]!;
        try {
          // A short TTL keeps the workload going to Redis, not only to L1.
          const value = await cache.getOrSet(key, loader(key), { ttlMs: 100 });
          if (value.key === key) answered++;
          else wrong++;
        } catch {
          failed++;
        }
        await pause(5);
      }
    });

    await pause(300);
    await server.kill();
    const answeredAtKill = answered;
    await pause(1_500); // the whole outage: every call must still answer
    expect(answered).toBeGreaterThan(answeredAtKill);
    expect(states).toContain('open');
    const writesWhileDown = cache.set('written-while-down', 1); // dropped, not thrown
    await expect(writesWhileDown).resolves.toBeUndefined();
    expect(dropped).toBeGreaterThan(0);

    await server.restart();
    const deadline = Date.now() + 20_000;
    while (cache.circuitState !== 'closed' && Date.now() < deadline) await pause(50);
    expect(cache.circuitState).toBe('closed');
    // Recovered: writes reach Redis again (retried: on a loaded machine one
    // write may still exceed the 200 ms operation timeout and be dropped).
    const admin = server.client();
    let stored: string | null = null;
    const writeDeadline = Date.now() + 20_000;
    while (stored === null && Date.now() < writeDeadline) {
      await cache.set('after-restart', { ok: true });
      stored = await admin.get(`${prefix}v:after-restart`);
      if (stored === null) await pause(100);
    }
    expect(stored).toContain('"ok":true');
    // The bus reconnected and flushed L1.
    const flushDeadline = Date.now() + 20_000;
    while (!flushes.includes('bus-reconnect') && Date.now() < flushDeadline) await pause(50);
    expect(flushes).toContain('bus-reconnect');

    running = false;
    await Promise.all(callers);
    expect(failed).toBe(0);
    expect(wrong).toBe(0);
    expect(answered).toBeGreaterThan(answeredAtKill);
    await cache.close();
    await cache.adapter.close();
  }, 60_000);
});
