import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { amqpUrl, connectAmqp } from '../../helpers/rabbitmq.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';

/** Runs `npm run example` (the same script) with its arguments, without blocking the event loop. */
function runOrderFlow(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ status: number | null; stdout: string; stderr: string; pid: number | undefined }>(
    (resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'examples/order-flow/run.ts', ...args], {
        env: { ...process.env, REDIS_URL: '', AMQP_URL: '', ...env },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
      child.on('close', (status) => {
        clearTimeout(timer);
        resolve({ status, stdout, stderr, pid: child.pid });
      });
    },
  );
}

/** A span of the --trace JSON: the tree without timings. */
interface Shape {
  name: string;
  kind: string;
  service: string;
  linked: boolean;
  children: Shape[];
}

function only(nodes: Shape[], match: (n: Shape) => boolean): Shape {
  const found = nodes.filter(match);
  expect(found, JSON.stringify(nodes.map((n) => [n.kind, n.name, n.service]))).toHaveLength(1);
  return found[0]!;
}

/** The SERVER span of `service` under `parent`: parent -> CLIENT call -> CLIENT attempt -> SERVER. */
function serverUnderCall(parent: Shape, service: string): Shape {
  for (const call of parent.children.filter((n) => n.kind === 'client')) {
    for (const attempt of call.children.filter((n) => n.kind === 'client')) {
      const server = attempt.children.find((n) => n.kind === 'server' && n.service === service);
      if (server !== undefined) {
        expect(call.name).toBe('POST');
        expect(attempt.name).toBe('POST');
        return server;
      }
    }
  }
  throw new Error(`no call to ${service} under ${parent.name}: ${JSON.stringify(parent, null, 1)}`);
}

function count(stdout: string, label: string): number {
  const match = new RegExp(`^${label}\\s+(\\d+)`, 'm').exec(stdout);
  if (!match) throw new Error(`no "${label}" line in:\n${stdout}`);
  return Number(match[1]);
}

function expectRun(out: { status: number | null; stdout: string; stderr: string }, orders: number): void {
  expect(out.stderr).toBe('');
  expect(out.status).toBe(0);
  const { stdout } = out;
  expect(stdout).toContain('an order without a token: 401');
  expect(stdout).toMatch(new RegExp(`placing orders ${orders}/${orders}`));
  expect(stdout).toMatch(/trace of o-\d+/);
  expect(stdout).toMatch(/pricing\s+quote\s+[\d.]+ ms/);
  expect(stdout).toMatch(/payment\s+charge\s+[\d.]+ ms/);
  expect(stdout).toContain('| service                | requests | p50 ms | p95 ms | p99 ms |');
  for (const service of ['api-gateway', 'orders-service', 'pricing-service', 'inventory-service']) {
    expect(stdout).toMatch(
      new RegExp(`\\| ${service}\\s+\\|\\s+\\d+ \\|\\s+[\\d.]+ \\|\\s+[\\d.]+ \\|\\s+[\\d.]+ \\|`),
    );
  }
  const placed = count(stdout, 'orders placed');
  expect(placed + count(stdout, 'orders failed')).toBe(orders);
  expect(count(stdout, 'stock reserved')).toBe(placed);
  expect(count(stdout, 'customers notified')).toBe(placed);
  // One charge per order, whichever payment instance a retry reached (idempotencyNode, shared store).
  const charges = /^payments charged\s+(\d+), (\d+) twice/m.exec(stdout);
  expect(charges?.[2]).toBe('0');
  expect(Number(charges?.[1])).toBeGreaterThanOrEqual(placed);
  expect(Number(charges?.[1])).toBeLessThanOrEqual(orders);
  expect(stdout).toMatch(/cache hit rate\s+\d+\.\d% \(\d+ hits, [1-5] misses\)/); // five skus, loaded once each
  expect(stdout).toMatch(/^retries\s+\d+$/m);
  expect(stdout).toMatch(/^breaker trips\s+\d+$/m);
  expect(stdout).toContain('/health and /metrics 8/8 services answered 200');
  expect(stdout).toContain('all placed orders reserved and notified; shut down cleanly');
}

describe('example: order flow (npm run example)', { timeout: 120_000 }, () => {
  it('places every order on the memory adapters, no retries when nothing fails', async () => {
    const out = await runOrderFlow(['--orders', '12']);
    expectRun(out, 12);
    expect(out.stdout).toContain('order flow on memory adapters');
    expect(count(out.stdout, 'orders placed')).toBe(12);
    expect(count(out.stdout, 'retries')).toBe(0);
    expect(count(out.stdout, 'breaker trips')).toBe(0);
  });

  it('--fail payment=0.2: retries to other instances, and the breaker opens', async () => {
    const out = await runOrderFlow(['--orders', '16', '--fail', 'payment=0.2']);
    expectRun(out, 16);
    expect(count(out.stdout, 'retries')).toBeGreaterThan(0);
    expect(count(out.stdout, 'breaker trips')).toBeGreaterThan(0);
    expect(count(out.stdout, 'payment attempts')).toBeGreaterThan(count(out.stdout, 'orders placed'));
    expect(count(out.stdout, 'orders placed')).toBeGreaterThan(8); // retries save most orders
  });

  it('--compare: the monolith on the same orders and the measured cost of a hop', async () => {
    const out = await runOrderFlow(['--orders', '8', '--compare']);
    expectRun(out, 8);
    expect(out.stdout).toContain('monolith vs microservices, same 8 orders');
    for (const hop of [
      'orders -> pricing (quote)',
      'orders -> inventory (check)',
      'orders -> payment (charge)',
    ]) {
      expect(out.stdout).toMatch(
        new RegExp(
          `\\| ${hop.replace(/[()]/g, '\\$&')}\\s+\\|\\s+[\\d.]+ \\|\\s+[\\d.]+ \\|\\s+-?[\\d.]+ \\|`,
        ),
      );
    }
    expect(out.stdout).toMatch(/cost of one network hop \(median of the three measured\): -?[\d.]+ ms/);
  });

  it('the monolith alone (npm run example:monolith) places, reserves and notifies five orders', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/order-flow/monolith.ts'], {
      env: { ...process.env, REDIS_URL: '', AMQP_URL: '' },
    });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const status = await new Promise((resolve) => child.on('close', resolve));
    expect(status).toBe(0);
    expect(stdout.match(/^o-\d: \d+ cents; pricing\.quote [\d.]+ ms, inventory\.check/gm)).toHaveLength(5);
    expect(stdout).toMatch(/saved 5 orders, reserved \d+ items, notified 5/);
  });

  it('--trace: one order as one tree of real spans, gateway to consumers (shape, not timing)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'order-trace-'));
    try {
      const file = join(dir, 'trace.svg');
      const out = await runOrderFlow(['--orders', '4', '--trace', '--trace-file', file]);
      expectRun(out, 4);
      expect(out.stdout).toMatch(/waterfall of o-1 \(its OpenTelemetry spans, as recorded\):/);
      expect(out.stdout).toContain(`waterfall written to ${file}`);
      const svg = readFileSync(file, 'utf8');
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
      const root = JSON.parse(readFileSync(join(dir, 'trace.json'), 'utf8')) as Shape;
      expect(root).toMatchObject({ name: 'POST /orders', kind: 'client', service: 'customer' });
      // customer -> gateway (SERVER) -> its ServiceClient call and attempt -> orders (SERVER)
      const gateway = only(root.children, (n) => n.kind === 'server');
      expect(gateway).toMatchObject({ name: 'POST /orders', service: 'api-gateway' });
      const orders = serverUnderCall(gateway, 'orders-service');
      expect(orders.name).toBe('POST /orders');
      // orders -> pricing, inventory, payment, each through a call span and an attempt span
      expect(serverUnderCall(orders, 'pricing-service').name).toBe('POST /quote');
      expect(serverUnderCall(orders, 'inventory-service').name).toBe('POST /check');
      expect(serverUnderCall(orders, 'payment-service').name).toBe('POST /charge');
      // orders publishes order.created; each consumer group's delivery is a trace linked to it
      const send = only(orders.children, (n) => n.kind === 'producer');
      expect(send.name).toBe('send order.created');
      const consumers = send.children.filter((n) => n.kind === 'consumer');
      expect(consumers.map((c) => c.service).sort()).toEqual(['inventory-service', 'notification-service']);
      for (const c of consumers) expect(c).toMatchObject({ name: 'process order.created', linked: true });
      // every other edge is a parent edge: only consumers are linked
      const linked = (n: Shape): number => (n.linked ? 1 : 0) + n.children.reduce((k, c) => k + linked(c), 0);
      expect(linked(root)).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a bad --fail with exit code 2', async () => {
    const out = await runOrderFlow(['--fail', 'pricing=2']);
    expect(out.status).toBe(2);
    expect(out.stderr).toContain('--fail takes payment=<rate in [0, 1)>');
  });

  describe('on real Redis and RabbitMQ', () => {
    let redis: RedisServer;
    beforeAll(async () => {
      redis = await startRedisServer();
    });
    afterAll(async () => {
      await redis.stop();
    });

    it('REDIS_URL + AMQP_URL: every order placed, with failures and the comparison', async () => {
      const out = await runOrderFlow(['--orders', '10', '--fail', 'payment=0.2', '--compare'], {
        REDIS_URL: redis.url,
        AMQP_URL: amqpUrl(),
      });
      // Its queues and exchanges are named after its pid and infrastructure
      // number (two with --compare): remove them from the shared broker.
      const amqp = await connectAmqp();
      for (const n of [1, 2]) {
        const prefix = `order-flow-${out.pid}-${n}.`;
        for (const q of [
          'order.created',
          'order.created.dead',
          'order.created/inventory',
          'order.created/notification',
        ]) {
          amqp.track(`${prefix}${q}`);
        }
        for (const x of ['scaleout.topics', 'scaleout.dead-letter']) amqp.track(`${prefix}${x}`, 'exchange');
      }
      await amqp.cleanup();
      expectRun(out, 10);
      expect(out.stdout).toContain('order flow on Redis + RabbitMQ');
      expect(count(out.stdout, 'retries')).toBeGreaterThan(0);
      expect(out.stdout).toMatch(/cost of one network hop/);
    });
  });
});
