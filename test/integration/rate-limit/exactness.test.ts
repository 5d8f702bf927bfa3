import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniquePrefix } from '../../helpers/keys.js';
import { type RedisClusterFixture, startRedisCluster } from '../../helpers/redis-cluster.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';
import { startWorkers } from '../../helpers/workers.js';
import type { ExactnessResult } from './exactness-worker.js';

const worker = fileURLToPath(new URL('./exactness-worker.ts', import.meta.url));
const PROCESSES = 4;
const CALLERS = 50;
const LIMIT = 37;
const WINDOW_MS = 10_000;

/**
 * When to release the workers: now, unless the fixed windows of 10 s
 * (aligned to the epoch) end within 4 s, then just after the boundary, so
 * that all 200 consumes land in one window.
 */
function startAt(): number {
  const now = Date.now() + 300;
  const into = now % WINDOW_MS;
  return into < WINDOW_MS - 4_000 ? now : now - into + WINDOW_MS + 100;
}

async function race(env: Record<string, string>, algorithm: string): Promise<ExactnessResult[]> {
  const workers = await startWorkers<ExactnessResult>(worker, PROCESSES, {
    env: {
      ...env,
      PREFIX: uniquePrefix('exact'),
      KEY: 'checkout',
      LIMIT: String(LIMIT),
      WINDOW_MS: String(WINDOW_MS),
      ALGORITHM: algorithm,
      CALLERS: String(CALLERS),
    },
  });
  try {
    workers.go({ startAt: startAt() });
    return await workers.results();
  } finally {
    workers.kill();
  }
}

/**
 * Exactly LIMIT allowed. GCRA refills one unit every WINDOW_MS / LIMIT ms
 * (270 ms) as it should: when the race (on one machine, one clock) lasted
 * longer than that, as on a loaded machine, each refill may let exactly one
 * more through, so the bound is LIMIT + refills within the race, never more.
 */
function expectExact(results: ExactnessResult[], algorithm: string): void {
  const allowed = results.reduce((n, r) => n + r.allowed, 0);
  const denied = results.reduce((n, r) => n + r.denied, 0);
  expect(allowed + denied).toBe(PROCESSES * CALLERS);
  const spanMs = Math.max(...results.map((r) => r.endedAt)) - Math.min(...results.map((r) => r.startedAt));
  const refills = algorithm === 'gcra' ? Math.floor(spanMs / (WINDOW_MS / LIMIT)) : 0;
  if (refills === 0) {
    expect(allowed).toBe(LIMIT);
    // Each allowed consume saw a different count: the store serialised all 200.
    const remaining = results.flatMap((r) => r.remaining).sort((a, b) => a - b);
    expect(remaining).toEqual(Array.from({ length: LIMIT }, (_, i) => i));
  } else {
    expect(allowed).toBeGreaterThanOrEqual(LIMIT);
    expect(allowed).toBeLessThanOrEqual(LIMIT + refills);
  }
  expect(new Set(results.flatMap((r) => r.sources))).toEqual(new Set(['adapter']));
  // Processes were in flight at the same time (at least two of them; on a loaded 2-core
  // machine a process may be scheduled after another has finished): they really raced.
  const overlapping = results.some((a, i) =>
    results.some((b, j) => i !== j && a.startedAt <= b.endedAt && b.startedAt <= a.endedAt),
  );
  expect(overlapping).toBe(true);
}

describe(`exactness: ${PROCESSES} OS processes x ${CALLERS} concurrent callers, one key, ${LIMIT} per 10 s`, () => {
  describe('standalone redis-server', () => {
    let server: RedisServer;
    beforeAll(async () => {
      server = await startRedisServer();
    });
    afterAll(async () => {
      await server?.stop();
    });
    for (const algorithm of ['gcra', 'fixed-window', 'sliding-window']) {
      it(`${algorithm}: exactly ${LIMIT} allowed`, async () => {
        expectExact(await race({ REDIS_URL: server.url }, algorithm), algorithm);
      }, 60_000);
    }
  });

  describe('3-master Redis Cluster', () => {
    let cluster: RedisClusterFixture;
    beforeAll(async () => {
      cluster = await startRedisCluster();
    }, 60_000);
    afterAll(async () => {
      await cluster?.stop();
    });
    for (const algorithm of ['gcra', 'fixed-window']) {
      it(`${algorithm}: exactly ${LIMIT} allowed`, async () => {
        expectExact(
          await race({ CLUSTER_NODES: JSON.stringify(cluster.startupNodes) }, algorithm),
          algorithm,
        );
      }, 60_000);
    }
  });
});
