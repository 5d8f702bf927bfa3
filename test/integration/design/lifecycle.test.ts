/**
 * The design's health checks (../shared/seed: "Service Discovery and Load
 * Balancing": the registry GETs `${instanceUrl}/health` with a 5 s timeout
 * and drops an instance whose checks fail), with the instance's hand-written
 * `/health` replaced by ServiceLifecycle as docs/lifecycle.md ("From the
 * design's code") says, run against a real redis-server and real HTTP
 * instances on loopback.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import axios from 'axios';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { roundRobinBalancer, ServiceLifecycle, ServiceRegistry } from '../../../src/index.js';
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
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** An inventory-service instance: the design's app without its hand-written /health. */
async function inventoryInstance(name: string): Promise<{ url: string; lifecycle: ServiceLifecycle }> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ instance: name }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const lifecycle = new ServiceLifecycle({ servers: [server] });
  cleanups.push(() => lifecycle.close());
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, lifecycle };
}

/** The design's check, verbatim: a 2xx within 5 s passes, anything else throws. */
async function designCheck(instanceUrl: string): Promise<boolean> {
  try {
    const healthUrl = `${instanceUrl}/health`;
    await axios.get(healthUrl, { timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

describe("the design's health checks against ServiceLifecycle's /health", () => {
  it('/health passes while ready, fails while not ready or stopping; the registry follows', async () => {
    const instances = await Promise.all(['a', 'b', 'c'].map((n) => inventoryInstance(n)));
    const adapter = redisRegistryAdapter({ connection: redis.client(), prefix: uniquePrefix('design-life') });
    const registry = new ServiceRegistry({ adapter, balancer: roundRobinBalancer, slowStartMs: 0 });
    cleanups.push(
      () => adapter.close(),
      () => registry.close(),
    );
    for (const { url, lifecycle } of instances) {
      lifecycle.manage(await registry.register('inventory-service', url));
    }

    // The design's check passes on every instance: ServiceLifecycle answers /health, no route written.
    for (const { url } of instances) expect(await designCheck(url)).toBe(true);
    const body = (await axios.get(`${instances[0]!.url}/health`)).data as { status: string };
    expect(body.status).toBe('ok');
    await registry.runHealthChecks();
    expect(new Set(await pickUrls(registry, 6))).toEqual(new Set(instances.map((i) => i.url)));

    // Not ready (a maintenance window, a failing critical check): /health answers 503, the
    // design's check fails, and two rounds (the unhealthyThreshold) take it out of the picks.
    instances[1]!.lifecycle.markNotReady();
    expect(await designCheck(instances[1]!.url)).toBe(false);
    await registry.runHealthChecks();
    await registry.runHealthChecks();
    expect(await pickUrls(registry, 6)).not.toContain(instances[1]!.url);
    instances[1]!.lifecycle.markReady();
    await registry.runHealthChecks();
    await registry.runHealthChecks();
    expect(await pickUrls(registry, 6)).toContain(instances[1]!.url);

    // A stop: the registration is deregistered at once (no check round needed), /health 503.
    const stopping = instances[2]!.lifecycle.shutdown();
    const report = await stopping;
    expect(report).toMatchObject({ clean: true, exitCode: 0 });
    expect((await registry.instances('inventory-service')).map(String)).not.toContain(instances[2]!.url);
    expect(await designCheck(instances[2]!.url)).toBe(false);
  });
});

async function pickUrls(registry: ServiceRegistry, n: number): Promise<string[]> {
  const urls: string[] = [];
  for (let i = 0; i < n; i++) urls.push(String(await registry.getServiceInstance('inventory-service')));
  return urls;
}
