import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisSessionAdapter } from '../../../src/adapters/redis/session.js';
import { SessionStore } from '../../../src/session/session-store.js';
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

  it('sessions are shared: 4 processes x 25 merge updates on one session lose no write', async () => {
    const prefix = uniquePrefix('workers-session');
    const sessions = new SessionStore<{ items: string[] }>({
      adapter: new RedisSessionAdapter({ connection: server.client(), prefix }),
    });
    const created = await sessions.create({ items: [] });
    const workers = await startWorkers<{ pid: number }>(
      new URL('./workers/session-merge.ts', import.meta.url).pathname,
      4,
      { env: { REDIS_URL: server.url, PREFIX: prefix } },
    );
    workers.go({ id: created.id });
    await workers.results();
    const final = await sessions.get(created.id);
    expect(final?.data.items).toHaveLength(100);
    expect(new Set(final?.data.items).size).toBe(100);
    for (let w = 0; w < 4; w++) {
      // Each process's own writes stay in its order.
      const own = final!.data.items.filter((x) => x.startsWith(`${w}:`));
      expect(own).toEqual(Array.from({ length: 25 }, (_, i) => `${w}:${i}`));
    }
  }, 60_000);

  it('lock mutual exclusion: 4 processes x 10 critical sections, never two holders at once, tokens distinct and growing', async () => {
    const prefix = uniquePrefix('workers-lock');
    const workers = await startWorkers<{ overlaps: number; sections: number; tokens: number[] }>(
      new URL('./workers/lock-sections.ts', import.meta.url).pathname,
      4,
      { env: { REDIS_URL: server.url, PREFIX: prefix } },
    );
    workers.go();
    const results = await workers.results();
    expect(results.map((r) => r.overlaps)).toEqual([0, 0, 0, 0]);
    expect(results.map((r) => r.sections)).toEqual([10, 10, 10, 10]);
    const tokens = results.flatMap((r) => r.tokens);
    expect(new Set(tokens).size).toBe(40);
    for (const r of results) {
      // Within one process, later sections got larger tokens.
      expect([...r.tokens].sort((a, b) => a - b)).toEqual(r.tokens);
    }
  }, 60_000);
});
