import { createServer, type Server } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { memoryRegistryAdapter } from '../../../src/adapters/memory/registry.js';
import { roundRobinBalancer } from '../../../src/registry/balancers/round-robin.js';
import { HealthChecker } from '../../../src/registry/health-checker.js';
import { ServiceRegistry, type ServiceRegistryEvents } from '../../../src/registry/service-registry.js';

type Mode = 'ok' | 'hang' | 'fail';
interface Instance {
  url: string;
  mode: Mode;
  server: Server;
}

async function startInstance(): Promise<Instance> {
  const instance = { mode: 'ok' as Mode } as Instance;
  instance.server = createServer((req, res) => {
    if (instance.mode === 'hang') return; // never answers
    if (instance.mode === 'fail') {
      res.writeHead(503).end('unavailable');
      return;
    }
    res.writeHead(200).end(req.url === '/health' ? 'healthy' : 'ok');
  });
  await new Promise<void>((resolve) => instance.server.listen(0, '127.0.0.1', resolve));
  instance.url = `http://127.0.0.1:${(instance.server.address() as { port: number }).port}/`;
  return instance;
}

describe('health checks against real HTTP instances on loopback', () => {
  const instances: Instance[] = [];
  const registries: ServiceRegistry[] = [];
  beforeAll(async () => {
    for (let i = 0; i < 100; i++) instances.push(await startInstance());
  });
  afterEach(async () => {
    await Promise.all(registries.splice(0).map((r) => r.close()));
    for (const i of instances) i.mode = 'ok';
  });
  afterAll(async () => {
    for (const i of instances) {
      i.server.closeAllConnections();
      i.server.close();
    }
  });

  it('checks 100 instances with 10 hanging in about one timeout, not ten, and routes around the hanging ones', async () => {
    const timeoutMs = 1000;
    const registry = new ServiceRegistry({
      balancer: roundRobinBalancer,
      healthCheck: { timeoutMs, concurrency: 32, intervalMs: 3_600_000, unhealthyThreshold: 2 },
    });
    registries.push(registry);
    for (const i of instances) await registry.register('fleet', i.url);
    await registry.watch('fleet');
    const hanging = new Set(instances.filter((_, n) => n % 10 === 3).map((i) => i.url));
    for (const i of instances) if (hanging.has(i.url)) i.mode = 'hang';
    const rounds: number[] = [];
    for (let round = 0; round < 2; round++) {
      const started = performance.now();
      await registry.checkHealth();
      rounds.push(performance.now() - started);
    }
    console.log(
      `health rounds over 100 instances (10 hanging, timeout ${timeoutMs} ms): ${rounds.map(Math.round).join(', ')} ms`,
    );
    // One after another the hanging checks alone would take 10 × 1000 ms.
    for (const ms of rounds) {
      expect(ms).toBeGreaterThanOrEqual(timeoutMs - 50);
      expect(ms).toBeLessThan(4 * timeoutMs);
    }
    const statuses = await registry.instances('fleet');
    expect(new Set(statuses.filter((s) => !s.healthy).map((s) => s.id))).toEqual(hanging);
    for (let n = 0; n < 500; n++) expect(hanging.has(registry.pick('fleet').id)).toBe(false);
  }, 30_000);

  it('the default HTTP check answers per status and aborts at the timeout', async () => {
    const checker = new HealthChecker({ timeoutMs: 300 });
    const [ok, failing, hanging] = instances;
    failing!.mode = 'fail';
    hanging!.mode = 'hang';
    const as = (i: Instance) => ({
      service: 's',
      id: i.url,
      url: i.url,
      weight: 1,
      metadata: {},
      registeredAt: 0,
    });
    expect(await checker.check(as(ok!))).toBe(true);
    expect(await checker.check(as(failing!))).toBe(false);
    const started = performance.now();
    expect(await checker.check(as(hanging!))).toBe(false);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(await checker.check({ ...as(ok!), url: 'http://127.0.0.1:1/' })).toBe(false); // refused
    checker.close();
  });

  it('takes a failing instance out after the threshold and re-admits it once it passes again', async () => {
    const registry = new ServiceRegistry({
      adapter: memoryRegistryAdapter(),
      balancer: roundRobinBalancer,
      slowStartMs: 0,
      healthCheck: { timeoutMs: 500, intervalMs: 3_600_000, healthyThreshold: 2, unhealthyThreshold: 2 },
    });
    registries.push(registry);
    const five = instances.slice(0, 5);
    for (const i of five) await registry.register('five', i.url);
    await registry.watch('five');
    const events: ServiceRegistryEvents['health'][] = [];
    registry.on('health', (e) => events.push(e));
    five[0]!.mode = 'fail';
    await registry.checkHealth();
    expect(events).toHaveLength(0);
    await registry.checkHealth();
    expect(events.map((e) => [e.instance.id, e.healthy])).toEqual([[five[0]!.url, false]]);
    expect(Array.from({ length: 50 }, () => registry.pick('five').id)).not.toContain(five[0]!.url);
    five[0]!.mode = 'ok';
    await registry.checkHealth();
    await registry.checkHealth();
    expect(events.at(-1)).toMatchObject({ healthy: true });
    expect(Array.from({ length: 50 }, () => registry.pick('five').id)).toContain(five[0]!.url);
  });

  it('ejects an instance whose real calls keep returning 5xx, from call results alone', async () => {
    const registry = new ServiceRegistry({
      balancer: roundRobinBalancer,
      outlierDetection: { consecutiveFailures: 3, baseEjectionMs: 60_000 },
    });
    registries.push(registry);
    const four = instances.slice(10, 14);
    for (const i of four) await registry.register('calls', i.url);
    await registry.watch('calls');
    four[2]!.mode = 'fail';
    const ejections: ServiceRegistryEvents['ejection'][] = [];
    registry.on('ejection', (e) => ejections.push(e));
    const hits = new Map<string, number>();
    for (let n = 0; n < 40; n++) {
      const call = registry.startCall('calls');
      const res = await fetch(new URL('work', call.instance.url));
      await res.arrayBuffer();
      call.end({ outcome: res.status >= 500 ? 'server-error' : 'success' });
      hits.set(call.instance.id, (hits.get(call.instance.id) ?? 0) + 1);
    }
    expect(ejections).toHaveLength(1);
    expect(ejections[0]!.instance.id).toBe(four[2]!.url);
    expect(hits.get(four[2]!.url)).toBe(3);
  });
});
