/**
 * ServiceClient on a real ServiceRegistry (memory adapter, and Redis adapter
 * on a real redis-server) calling real HTTP instances on loopback: the
 * client's attempts steer the registry (outstanding counts, outlier
 * ejection) and the registry steers the client (retries elsewhere,
 * deregistered instances left alone).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { memoryRegistryAdapter } from '../../../src/adapters/memory/registry.js';
import { redisRegistryAdapter } from '../../../src/adapters/redis/registry.js';
import { ServiceClient } from '../../../src/client/service-client.js';
import type { AttemptEvent } from '../../../src/client/service-client-events.js';
import type { RegistryAdapter } from '../../../src/contracts/registry.js';
import { NoUpstreamError } from '../../../src/errors.js';
import type { BalancerFactory } from '../../../src/registry/balancers/balancer.js';
import { leastOutstandingBalancer } from '../../../src/registry/balancers/least-outstanding.js';
import { powerOfTwoChoicesBalancer } from '../../../src/registry/balancers/power-of-two-choices.js';
import { roundRobinBalancer } from '../../../src/registry/balancers/round-robin.js';
import { ServiceRegistry, type ServiceRegistryOptions } from '../../../src/registry/service-registry.js';
import { type FakeUpstream, startFakeUpstream } from '../../helpers/fake-upstream.js';
import { uniquePrefix } from '../../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';
import { until } from '../../helpers/wait.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const idOf = (u: FakeUpstream) => `${u.url}/`;
const quick = { maxAttempts: 3, backoff: { baseMs: 1, maxMs: 5 } };

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

const backends: Array<{ name: string; adapters: () => [RegistryAdapter, RegistryAdapter] }> = [
  {
    name: 'memory adapter',
    adapters: () => {
      const shared = memoryRegistryAdapter();
      cleanups.push(() => shared.close());
      return [shared, shared];
    },
  },
  {
    name: 'Redis adapter on a real redis-server',
    adapters: () => {
      const prefix = uniquePrefix('client-registry');
      const a = redisRegistryAdapter({ connection: redis.client(), prefix });
      const b = redisRegistryAdapter({ connection: redis.client(), prefix });
      cleanups.push(
        () => a.close(),
        () => b.close(),
      );
      return [a, b];
    },
  },
];

describe.each(backends)('ServiceClient with a ServiceRegistry ($name)', ({ adapters }) => {
  let n = 0;
  /** `count` instances registered by one registry (the instances' side), watched by another (the caller's). */
  async function fleet(count: number, options: ServiceRegistryOptions = {}) {
    const service = `inventory-${++n}`;
    const [hostAdapter, clientAdapter] = adapters();
    const host = new ServiceRegistry({ adapter: hostAdapter });
    cleanups.push(() => host.close());
    const ups: FakeUpstream[] = [];
    for (let i = 0; i < count; i++) {
      const u = await startFakeUpstream({ seed: i + 1 });
      cleanups.push(() => u.close());
      ups.push(u);
      await host.register(service, u.url);
    }
    const registry = new ServiceRegistry({ adapter: clientAdapter, slowStartMs: 0, ...options });
    cleanups.push(() => registry.close());
    return { service, ups, host, registry };
  }
  function client(service: string, registry: ServiceRegistry, options = {}): ServiceClient {
    const c = new ServiceClient({ service, registry }, { deadlineMs: 10_000, ...options });
    cleanups.push(() => c.close());
    return c;
  }

  it('loads the view on first use, and sends each retry to an instance the call has not tried', async () => {
    const { service, ups, registry } = await fleet(3, {
      balancer: roundRobinBalancer,
      outlierDetection: false,
    });
    ups[0]!.set({ failRate: 1, failStatus: 503 });
    const c = client(service, registry, { retry: quick, retryBudget: false, breaker: false });
    let current: AttemptEvent[] = [];
    c.on('attempt', (e) => current.push(e));
    const calls: AttemptEvent[][] = [];
    for (let i = 0; i < 30; i++) {
      current = [];
      await expect(c.get('/stock')).resolves.toMatchObject({ ok: true });
      calls.push(current);
    }
    const retried = calls.filter((attempts) => attempts.length > 1);
    expect(retried.length).toBeGreaterThanOrEqual(5);
    for (const attempts of calls) {
      const ids = attempts.map((a) => a.instanceId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(attempts.at(-1)!.outcome).toBe('success');
    }
    // Every failure was a first attempt: no call went back to the failing instance.
    expect(ups[0]!.requests).toBe(retried.length);
    expect(retried.every((attempts) => attempts[0]!.instanceId === idOf(ups[0]!))).toBe(true);
    for (const s of await registry.instances(service)) expect(s.outstanding).toBe(0);
  });

  it("ejects a failing instance through the registry's outlier detection from the client's reported results", async () => {
    // Round-robin keeps sending the failing instance its share of first
    // attempts (power of two choices would rightly avoid it once its first
    // answer was slow, e.g. its connection setup on a loaded machine).
    const { service, ups, registry } = await fleet(3, {
      balancer: roundRobinBalancer,
      outlierDetection: { consecutiveFailures: 3, baseEjectionMs: 60_000 },
    });
    ups[0]!.set({ failRate: 1, failStatus: 503 });
    const ejected: string[] = [];
    registry.on('ejection', (e) => {
      if (e.ejected) ejected.push(e.instance.id);
    });
    // The client's own breaker is off: only the registry can stop the traffic.
    const c = client(service, registry, { retry: quick, retryBudget: false, breaker: false });
    for (let i = 0; i < 300 && ejected.length === 0; i++) await c.get('/stock');
    expect(ejected).toEqual([idOf(ups[0]!)]);
    const status = await registry.instances(service);
    expect(status.find((s) => s.id === idOf(ups[0]!))?.ejected).toBe(true);
    expect(status.filter((s) => s.ejected)).toHaveLength(1);
    for (const u of ups) u.resetCounts();
    for (let i = 0; i < 30; i++) await expect(c.get('/stock')).resolves.toMatchObject({ ok: true });
    expect(ups[0]!.requests).toBe(0);
    expect(ups[1]!.requests + ups[2]!.requests).toBe(30);
  });

  it.each([
    ['leastOutstandingBalancer', leastOutstandingBalancer],
    ['powerOfTwoChoicesBalancer', powerOfTwoChoicesBalancer],
  ] as Array<[string, BalancerFactory]>)(
    "%s sees the client's calls in flight, and every slot is released (answers, timeouts, aborts)",
    async (_name, balancer) => {
      const { service, ups, registry } = await fleet(2, { balancer, outlierDetection: false });
      await registry.watch(service);
      for (const u of ups) u.set({ latencyMs: 400 });
      const c = client(service, registry, { retryBudget: false });
      const burst = Array.from({ length: 4 }, () => c.get('/stock'));
      // Each pick saw the calls started before it: two in flight on each instance.
      const during = await registry.instances(service);
      expect(during.map((s) => s.outstanding)).toEqual([2, 2]);
      await Promise.all(burst);
      expect(ups.map((u) => u.requests)).toEqual([2, 2]);
      // A timed-out attempt and an aborted call release their slots too.
      ups[0]!.set({ hang: true, latencyMs: 0 });
      ups[1]!.set({ hang: true, latencyMs: 0 });
      await expect(
        c.get('/stock', { attemptTimeoutMs: 100, deadlineMs: 150, idempotencyKey: 'k' }),
      ).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
      const aborter = new AbortController();
      const aborted = c.get('/stock', { signal: aborter.signal });
      await until('the call to be in flight', async () =>
        (await registry.instances(service)).some((s) => s.outstanding === 1),
      );
      aborter.abort();
      await expect(aborted).rejects.toBeDefined();
      expect((await registry.instances(service)).map((s) => s.outstanding)).toEqual([0, 0]);
    },
  );

  it('stops calling an instance once it is deregistered, and fails with NoUpstreamError when none is left', async () => {
    const { service, ups, host, registry } = await fleet(3);
    const c = client(service, registry, { retryBudget: false });
    for (let i = 0; i < 30; i++) await c.get('/stock');
    expect(ups[2]!.requests).toBeGreaterThan(0);
    await host.deregister(service, ups[2]!.url);
    await until('2 instances in the view', async () => (await registry.instances(service)).length === 2);
    for (const u of ups) u.resetCounts();
    for (let i = 0; i < 30; i++) await expect(c.get('/stock')).resolves.toMatchObject({ ok: true });
    expect(ups[2]!.requests).toBe(0);
    expect(ups[0]!.requests + ups[1]!.requests).toBe(30);
    await host.deregister(service, ups[0]!.url);
    await host.deregister(service, ups[1]!.url);
    await until('an empty view', async () => (await registry.instances(service)).length === 0);
    await expect(c.get('/stock')).rejects.toBeInstanceOf(NoUpstreamError);
  });

  it('two clients on one registry: closing either leaves the other working and the registry open', async () => {
    const { service, registry } = await fleet(2);
    const a = client(service, registry);
    const b = client(service, registry);
    await expect(a.get('/stock')).resolves.toMatchObject({ ok: true });
    await a.close();
    await expect(a.get('/stock')).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await expect(b.get('/stock')).resolves.toMatchObject({ ok: true });
    expect((await registry.instances(service)).length).toBe(2);
    await b.close();
    // The registry is the caller's: a client never closes it.
    expect((await registry.instances(service)).every((i) => i.outstanding === 0)).toBe(true);
    const c = client(service, registry);
    await expect(c.get('/stock')).resolves.toMatchObject({ ok: true });
  });
});
