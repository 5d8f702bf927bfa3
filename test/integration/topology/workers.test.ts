import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniquePrefix } from '../../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';
import { startWorkers } from '../../helpers/workers.js';

describe('multi-process harness', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('runs N OS processes against one Redis from a start barrier and collects their results', async () => {
    const key = `${uniquePrefix('workers')}counter`;
    const workers = await startWorkers<{ pid: number; seen: number[] }>(
      new URL('./workers/incr-script.ts', import.meta.url).pathname,
      4,
      { env: { REDIS_URL: server.url, KEY: key } },
    );
    workers.go();
    const results = await workers.results();
    expect(new Set(results.map((r) => r.pid)).size).toBe(4);
    expect(results.map((r) => r.pid)).not.toContain(process.pid);
    // Every increment is distinct across processes: 200 values, 1..200, none twice.
    const all = results.flatMap((r) => r.seen).sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(await server.client().get(key)).toBe('200');
  });
});
