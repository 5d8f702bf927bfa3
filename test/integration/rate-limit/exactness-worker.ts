/**
 * One OS process of the exactness test: CALLERS concurrent consumes of one
 * key, through a RateLimiter on real Redis (standalone with REDIS_URL, or
 * the Cluster with CLUSTER_NODES), released at the instant the parent chose.
 */
import { Cluster, Redis } from 'ioredis';
import { redisRateLimitAdapter } from '../../../src/adapters/redis/rate-limit.js';
import type { RateLimitAlgorithm } from '../../../src/contracts/rate-limit.js';
import { RateLimiter } from '../../../src/rate-limit/rate-limiter.js';
import { workerMain } from '../../helpers/worker-main.js';

/** What each process reports. */
export interface ExactnessResult {
  allowed: number;
  denied: number;
  /** `remaining` of every allowed decision. */
  remaining: number[];
  sources: string[];
  /** Wall-clock ms when the first consume was sent and when the last answered. */
  startedAt: number;
  endedAt: number;
}

const nodes = process.env.CLUSTER_NODES;
const client = nodes
  ? new Cluster(JSON.parse(nodes) as Array<{ host: string; port: number }>)
  : new Redis(process.env.REDIS_URL!);
client.on('error', () => {});
const limiter = new RateLimiter({
  adapter: redisRateLimitAdapter({ connection: client, prefix: process.env.PREFIX! }),
  limits: {
    limit: Number(process.env.LIMIT),
    windowMs: Number(process.env.WINDOW_MS),
    algorithm: process.env.ALGORITHM as RateLimitAlgorithm,
  },
  // A slow, loaded machine must not turn into insurance decisions: this test is about the store.
  failOpen: false,
  operationTimeoutMs: 20_000,
});
const callers = Number(process.env.CALLERS);
// Connected and the script loaded before "ready", so the start barrier means the same for every process.
await limiter.peek('warm-up');

workerMain<ExactnessResult>(async (payload) => {
  const { startAt } = payload as { startAt: number };
  await new Promise((r) => setTimeout(r, Math.max(0, startAt - Date.now())));
  const startedAt = Date.now();
  const decisions = await Promise.all(
    Array.from({ length: callers }, () => limiter.consume(process.env.KEY!)),
  );
  const endedAt = Date.now();
  await limiter.close();
  client.disconnect();
  const allowed = decisions.filter((d) => d.allowed);
  return {
    allowed: allowed.length,
    denied: decisions.length - allowed.length,
    remaining: allowed.map((d) => d.remaining),
    sources: [...new Set(decisions.map((d) => d.source))],
    startedAt,
    endedAt,
  };
});
