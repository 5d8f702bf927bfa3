/**
 * The cost of honouring idempotency keys, per request, on real Redis:
 * a node:http server (its own process) answering POSTs with no middleware,
 * with idempotencyNode over a Redis store (a new key per request: claim,
 * run, complete), over the memory store, and replaying a stored response.
 * Requests/s interleaved (16 in flight on a keep-alive agent), as ratios to
 * the server without the middleware; and the Redis round trips per request,
 * counted on the server (INFO commandstats: EVALSHA/EVAL calls).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { createInterface } from 'node:readline';
import { startRedisServer } from '../test/helpers/redis-server.js';
import type { BenchContext } from './lib.js';

const IN_FLIGHT = 16;
const body = JSON.stringify({ orderId: 'o-42', amountCents: 1250, currency: 'EUR' });

function post(agent: Agent, url: URL, key: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    };
    if (key !== undefined) headers['idempotency-key'] = key;
    const req = request(url, { method: 'POST', agent, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function scriptCalls(admin: { info(section: string): Promise<string> }): Promise<number> {
  const info = await admin.info('commandstats');
  let calls = 0;
  for (const m of info.matchAll(/cmdstat_(evalsha|eval):calls=(\d+)/g)) calls += Number(m[2]);
  return calls;
}

export default async function idempotencyBench(ctx: BenchContext): Promise<void> {
  const redis = await startRedisServer();
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/idempotency-server.ts', redis.url], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  try {
    const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
    const base = line.trim();
    const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
    let seq = 0;
    const batch = (path: string, key: () => string | undefined) => async () => {
      const statuses = await Promise.all(
        Array.from({ length: IN_FLIGHT }, () => post(agent, new URL(path, base), key())),
      );
      if (statuses.some((s) => s !== 201)) throw new Error(`unexpected status ${statuses.join(',')}`);
    };
    // One request first, so the replay task has a stored response to replay.
    await post(agent, new URL('/redis', base), 'replayed-key');

    // Round trips per request, counted by Redis itself.
    const admin = redis.client();
    const before = await scriptCalls(admin);
    const n = 200;
    for (let i = 0; i < n; i += IN_FLIGHT) await batch('/redis', () => `rt-${seq++}`)();
    const perNew = ((await scriptCalls(admin)) - before) / (Math.ceil(n / IN_FLIGHT) * IN_FLIGHT);
    const beforeReplay = await scriptCalls(admin);
    for (let i = 0; i < n; i += IN_FLIGHT) await batch('/redis', () => 'replayed-key')();
    const perReplay = ((await scriptCalls(admin)) - beforeReplay) / (Math.ceil(n / IN_FLIGHT) * IN_FLIGHT);
    ctx.note('Redis round trips per request (EVALSHA/EVAL calls seen by Redis)', [
      { request: 'new key (claim, run, complete)', 'round trips': Number(perNew.toFixed(2)) },
      { request: 'repeat of a completed key (replay)', 'round trips': Number(perReplay.toFixed(2)) },
    ]);

    await ctx.compare(
      `POST on loopback keep-alive, ${IN_FLIGHT} in flight, server in its own process: requests/s`,
      {
        'no middleware': batch('/plain', () => undefined),
        'idempotencyNode on Redis, a new key each (claim + complete)': batch('/redis', () => `k-${seq++}`),
        'idempotencyNode on Redis, replaying a stored response': batch('/redis', () => 'replayed-key'),
        'idempotencyNode in memory, a new key each': batch('/memory', () => `m-${seq++}`),
        'no key sent (passes through)': batch('/redis', () => undefined),
      },
      { baseline: 'no middleware', opsPerCall: IN_FLIGHT, rounds: 7 },
    );
    agent.destroy();
  } finally {
    child.stdin!.end();
    await once(child, 'exit');
    await redis.stop();
  }
}
