/**
 * ServiceRegistry: picks per second across 1,000 instances for each
 * balancer (beside the Array.shift/push round-robin of the original design),
 * and a load simulation on real loopback HTTP servers: 10 instances, one of
 * which adds 200 ms, called through `startCall` by a closed-loop client.
 */
import { Agent, createServer, request, type Server } from 'node:http';
// The built package, as users run it (`npm run bench` builds first).
import {
  type BalancerFactory,
  leastOutstandingBalancer,
  memoryRegistryAdapter,
  powerOfTwoChoicesBalancer,
  randomBalancer,
  roundRobinBalancer,
  ServiceRegistry,
  weightedBalancer,
} from '../dist/index.js';
import type { BenchContext } from './lib.js';
import { median } from './lib.js';

const balancers: Record<string, BalancerFactory> = {
  'round-robin': roundRobinBalancer,
  random: randomBalancer,
  'least-outstanding': leastOutstandingBalancer,
  'power-of-two-choices': powerOfTwoChoicesBalancer,
  weighted: weightedBalancer,
};

async function registryWith(balancer: BalancerFactory, n: number): Promise<ServiceRegistry> {
  const registry = new ServiceRegistry({ adapter: memoryRegistryAdapter(), balancer, ttlMs: 3_600_000 });
  for (let i = 0; i < n; i++) {
    await registry.register('svc', `http://10.0.${i >> 8}.${i & 255}:8080`, { weight: 1 + (i % 3) });
  }
  await registry.watch('svc');
  return registry;
}

async function picks(ctx: BenchContext): Promise<void> {
  const registries = new Map<string, ServiceRegistry>();
  for (const [name, factory] of Object.entries(balancers))
    registries.set(name, await registryWith(factory, 1000));
  // The original design: an array rotated with shift/push on every pick.
  const naive = Array.from({ length: 1000 }, (_, i) => ({ url: `http://10.0.${i >> 8}.${i & 255}:8080/` }));
  // Each task call does BATCH operations, so the harness's per-call timing overhead is amortised.
  const BATCH = 1000;
  let sink: unknown;
  const tasks: Record<string, () => unknown> = {
    'Array shift/push round-robin (original design)': () => {
      for (let i = 0; i < BATCH; i++) {
        const next = naive.shift()!;
        naive.push(next);
        sink = next;
      }
    },
  };
  for (const [name, registry] of registries) {
    tasks[`pick: ${name}`] = () => {
      for (let i = 0; i < BATCH; i++) sink = registry.pick('svc');
    };
  }
  const p2c = registries.get('power-of-two-choices')!;
  tasks['startCall + end: power-of-two-choices'] = () => {
    for (let i = 0; i < BATCH; i++) p2c.startCall('svc').end({ outcome: 'success', latencyMs: 3 });
  };
  await ctx.compare('pick one of 1,000 instances', tasks, {
    baseline: 'Array shift/push round-robin (original design)',
    opsPerCall: BATCH,
  });
  if (sink === undefined) throw new Error('nothing picked');
  await Promise.all([...registries.values()].map((r) => r.close()));
}

interface SimResult {
  requests: number;
  slow: number;
  latencies: number[];
  seconds: number;
}

async function simulate(
  balancer: BalancerFactory,
  urls: string[],
  agent: Agent,
  concurrency: number,
  durationMs: number,
  slowUrl: string,
): Promise<SimResult> {
  const registry = new ServiceRegistry({ adapter: memoryRegistryAdapter(), balancer, ttlMs: 3_600_000 });
  for (const url of urls) await registry.register('svc', url);
  await registry.watch('svc');
  const latencies: number[] = [];
  let slow = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  const worker = async () => {
    while (performance.now() < deadline) {
      const call = registry.startCall('svc');
      const t0 = performance.now();
      const status = await get(new URL(`${call.instance}/work`), agent);
      const ms = performance.now() - t0;
      call.end({ outcome: status >= 500 ? 'server-error' : 'success', latencyMs: ms });
      latencies.push(ms);
      if (call.instance.id === slowUrl) slow++; // ids keep the trailing slash of the registered URLs
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  await registry.close();
  return { requests: latencies.length, slow, latencies, seconds };
}

function get(url: URL, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function slowInstance(ctx: BenchContext): Promise<void> {
  const BASE_MS = 5;
  const EXTRA_MS = 200;
  const servers: Server[] = [];
  const urls: string[] = [];
  for (let i = 0; i < 10; i++) {
    const delay = i === 0 ? BASE_MS + EXTRA_MS : BASE_MS;
    const server = createServer((_req, res) => {
      setTimeout(() => res.end('ok'), delay);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    urls.push(`http://127.0.0.1:${(server.address() as { port: number }).port}/`);
  }
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const concurrency = 20;
  const durationMs = ctx.quick ? 1500 : 5000;
  const rounds = ctx.quick ? 1 : 3;
  const compared: Record<string, BalancerFactory> = {
    'round-robin': roundRobinBalancer,
    'power-of-two-choices': powerOfTwoChoicesBalancer,
    'least-outstanding': leastOutstandingBalancer,
  };
  const results = new Map<string, SimResult[]>(Object.keys(compared).map((k) => [k, []]));
  for (let round = 0; round < rounds; round++) {
    for (const [name, factory] of Object.entries(compared)) {
      results.get(name)!.push(await simulate(factory, urls, agent, concurrency, durationMs, urls[0]!));
    }
  }
  ctx.note(
    `10 loopback HTTP instances (${BASE_MS} ms each, one +${EXTRA_MS} ms), ${concurrency} concurrent callers, ${durationMs / 1000} s per run, median of ${rounds} interleaved runs`,
    Object.entries(compared).map(([name]) => {
      const runs = results.get(name)!;
      return {
        balancer: name,
        'requests/s': Math.round(median(runs.map((r) => r.requests / r.seconds))),
        'slow instance share %': Number(median(runs.map((r) => (100 * r.slow) / r.requests)).toFixed(2)),
        'p50 ms': Number(median(runs.map((r) => percentile(r.latencies, 50))).toFixed(1)),
        'p99 ms': Number(median(runs.map((r) => percentile(r.latencies, 99))).toFixed(1)),
      };
    }),
  );
  agent.destroy();
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
}

export default async function registry(ctx: BenchContext): Promise<void> {
  await picks(ctx);
  await slowInstance(ctx);
}
