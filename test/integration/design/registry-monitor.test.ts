/**
 * The design's code (../shared/seed: "Service Discovery and Load Balancing"
 * and "Instrumenting Code for Metrics"), changed only in imports and
 * construction as docs/registry.md and docs/monitor.md ("From the design's
 * code") say, run against a real redis-server, real HTTP instances and a
 * real Express app, all on loopback.
 *
 * What the design did synchronously is awaited here (getServiceInstance,
 * register, deregister: the registry is shared through Redis); using the
 * promise the design's way fails loudly (checked below with the design's
 * own registry-based ServiceClient, verbatim).
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import axios from 'axios';
import express from 'express';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
// The imports and the construction are the only changes to the design's code.
import {
  isScaleoutError,
  PerformanceMonitor,
  roundRobinBalancer,
  ServiceRegistry,
} from '../../../src/index.js';
import { redisRegistryAdapter } from '../../../src/redis.js';
import { uniquePrefix } from '../../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve(undefined));
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** An inventory-service instance: /health answers 200, /check says which instance answered. */
async function inventoryInstance(name: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    if (req.url === '/health') res.writeHead(200).end('ok');
    else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ instance: name }));
  });
  return { url: await listen(server), server };
}

// The design's registry-based ServiceClient, verbatim (only renamed, to sit beside scaleout's).
class DesignServiceClient {
  registry: any;
  serviceName: string;
  constructor(registry: any, serviceName: string) {
    this.registry = registry;
    this.serviceName = serviceName;
  }

  async request(method: string, path: string, options: any = {}) {
    const retries = options.retries || 3;
    let lastError = null;

    for (let attempt = 0; attempt < retries; attempt++) {
      try {
        const serviceUrl = this.registry.getServiceInstance(this.serviceName);
        const response = await axios({
          method,
          url: `${serviceUrl}${path}`,
          ...options,
        });

        return response.data;
      } catch (error: any) {
        console.error(`Request failed (attempt ${attempt + 1}/${retries}):`, error.message);
        lastError = error;
      }
    }

    throw lastError;
  }

  async get(path: string, options = {}) {
    return this.request('get', path, options);
  }
}

describe("the design's ServiceRegistry, on real Redis and loopback HTTP instances", () => {
  it('register, round-robin getServiceInstance, instance + /health via axios, runHealthChecks, deregister', async () => {
    const instances = await Promise.all(['a', 'b', 'c'].map((n) => inventoryInstance(n)));
    // Construction, as docs/registry.md says: a shared store and the design's round-robin.
    const adapter = redisRegistryAdapter({
      connection: redis.client(),
      prefix: uniquePrefix('design-registry'),
    });
    const registry = new ServiceRegistry({ adapter, balancer: roundRobinBalancer, slowStartMs: 0 });
    cleanups.push(
      () => adapter.close(),
      () => registry.close(),
    );

    for (const { url } of instances) expect(await registry.register('inventory-service', url)).toBeTruthy();
    // "Add to registry if not already present": registering again changes nothing.
    for (const { url } of instances) await registry.register('inventory-service', `${url}/`);
    expect(await registry.instances('inventory-service')).toHaveLength(3);

    // Round-robin, as the design's shift/push: each instance once per cycle.
    const answered: string[] = [];
    for (let i = 0; i < 6; i++) {
      const instance = await registry.getServiceInstance('inventory-service');
      const health = await axios.get(`${instance}/health`, { timeout: 5000 });
      expect(health.status).toBe(200);
      answered.push((await axios.get(`${instance}/check`)).data.instance);
    }
    expect(new Set(answered.slice(0, 3))).toEqual(new Set(['a', 'b', 'c']));
    expect(answered.slice(3)).toEqual(answered.slice(0, 3));

    // An instance stops answering: health checks take it out of rotation.
    await new Promise<void>((resolve) => {
      instances[1]!.server.closeAllConnections();
      instances[1]!.server.close(() => resolve());
    });
    await registry.runHealthChecks();
    await registry.runHealthChecks(); // the default unhealthyThreshold is 2 consecutive failures
    for (let i = 0; i < 6; i++) {
      const instance = await registry.getServiceInstance('inventory-service');
      expect(String(instance)).not.toBe(instances[1]!.url);
      expect((await axios.get(`${instance}/health`, { timeout: 5000 })).status).toBe(200);
    }

    // deregister: idempotent, as the design's.
    for (const { url } of instances) expect(await registry.deregister('inventory-service', url)).toBe(true);
    expect(await registry.deregister('inventory-service', instances[0]!.url)).toBe(false);
    // "No instances available for service": a typed NoInstancesError.
    const err = await registry.getServiceInstance('inventory-service').catch((e: unknown) => e);
    expect(isScaleoutError(err, 'ERR_NO_INSTANCES')).toBe(true);
  });

  it("the design's registry-based ServiceClient, verbatim: a promise used as a URL fails loudly with the fix, never requests '[object Promise]'", async () => {
    const { url } = await inventoryInstance('a');
    const adapter = redisRegistryAdapter({
      connection: redis.client(),
      prefix: uniquePrefix('design-client'),
    });
    const registry = new ServiceRegistry({ adapter, balancer: roundRobinBalancer });
    cleanups.push(
      () => adapter.close(),
      () => registry.close(),
    );
    await registry.register('inventory-service', url);
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const client = new DesignServiceClient(registry, 'inventory-service');
    const err = await client.get('/check').catch((e: unknown) => e);
    expect(isScaleoutError(err, 'ERR_INVALID_ARGUMENT')).toBe(true);
    expect((err as Error).message).toMatch(/await/);
    expect(logged).toHaveBeenCalledTimes(3);
    // With the one change the guide names (await the instance), the same code works.
    const instance = await registry.getServiceInstance('inventory-service');
    expect((await axios({ method: 'get', url: `${instance}${'/check'}` })).data).toEqual({ instance: 'a' });
  });
});

describe("the design's PerformanceMonitor Express app, on loopback", () => {
  it('app.use(monitor.middleware()), X-Response-Time, and the /metrics JSON route with the design fields as numbers', async () => {
    // Usage in Express app, as the design's; construction as docs/monitor.md says.
    const app = express();
    const monitor = new PerformanceMonitor({ errorStatusMin: 400 });
    cleanups.push(() => monitor.close());

    // Apply performance monitoring middleware
    app.use(monitor.middleware());

    // Endpoint to get current metrics
    // biome-ignore lint/correctness/noUnusedFunctionParameters: the design's code, verbatim
    app.get('/metrics', (req, res) => {
      res.json(monitor.getStats());
    });
    app.get('/ok', (_req, res) => {
      res.json({ ok: true });
    });
    app.get('/boom', () => {
      throw new Error('boom');
    });
    const base = await listen(createServer(app));
    const http = axios.create({ baseURL: base, validateStatus: () => true });

    for (let i = 0; i < 5; i++) {
      const res = await http.get('/ok');
      expect(res.status).toBe(200);
      expect(res.headers['x-response-time']).toMatch(/^\d+(\.\d+)?ms$/);
    }
    expect((await http.get('/missing')).status).toBe(404);
    expect((await http.get('/boom')).status).toBe(500);

    const stats = (await http.get('/metrics')).data;
    // The /metrics request itself is in flight while it answers, as in the design (counted at recordRequest).
    expect(stats.requestCount).toBe(8);
    expect(stats.errorsCount).toBe(2);
    expect(stats.errorRate).toBeCloseTo((2 / 7) * 100, 6); // percent, as the design's '28.57%'
    expect(stats.statusCodes).toEqual({ '200': 5, '404': 1, '500': 1 });
    for (const key of [
      'avgResponseTime',
      'p95ResponseTime',
      'p99ResponseTime',
      'requestsPerSecond',
      'uptime',
    ]) {
      expect(typeof stats[key], key).toBe('number');
      expect(stats[key], key).toBeGreaterThanOrEqual(0);
    }
    expect(stats.p99ResponseTime).toBeGreaterThanOrEqual(stats.p95ResponseTime);

    // recordRequest() returns a start time; recordResponse(startTime, statusCode) the response time.
    const startTime = monitor.recordRequest();
    const responseTime = monitor.recordResponse(startTime, 200);
    expect(typeof responseTime).toBe('number');
    expect(responseTime).toBeGreaterThanOrEqual(0);
  });
});
