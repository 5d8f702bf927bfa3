import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Idempotency, idempotencyNode, ServiceClient, ServiceRegistry } from '../../../src/index.js';
import { redisIdempotencyStore, redisRegistryAdapter } from '../../../src/redis.js';
import { uniquePrefix } from '../../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';
import { until } from '../../helpers/wait.js';
import { startWorkers } from '../../helpers/workers.js';
import type { InstanceEvent, InstanceResult } from './workers/payments-instance.js';

const instance = fileURLToPath(new URL('./workers/payments-instance.ts', import.meta.url));

/** A server whose handler takes `delayMs` (or waits for `gate`), counting executions. */
async function slowServer(keys: Idempotency, delayMs: number, gate?: Promise<void>) {
  const guard = idempotencyNode(keys);
  const state = { executions: 0 };
  const read = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString());
  };
  const server: Server = createServer(async (req, res) => {
    const body = await read(req);
    if (!(await guard(req, res, { body }))) return;
    state.executions++;
    await (gate ?? new Promise((r) => setTimeout(r, delayMs)));
    res
      .writeHead(201, { 'content-type': 'application/json' })
      .end(JSON.stringify({ charge: 'ch-1', ...body }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/charges`;
  return { state, url, close: () => new Promise((r) => server.close(r)) };
}

const fire = (url: string, n: number, key: string, settled?: { count: number }) =>
  Promise.all(
    Array.from({ length: n }, async () => {
      const r = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
        body: '{"amount":100}',
      });
      const answer = {
        status: r.status,
        replayed: r.headers.get('idempotency-replayed'),
        retryAfter: r.headers.get('retry-after'),
        body: await r.text(),
      };
      if (settled !== undefined) settled.count++;
      return answer;
    }),
  );

describe('concurrent duplicates (Redis store)', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  const store = () => redisIdempotencyStore({ connection: redis.url, prefix: uniquePrefix('dup') });

  it('50 concurrent duplicates: one execution; every caller gets the stored response (they wait for it)', async () => {
    const keys = new Idempotency({ adapter: store(), waitMs: 10_000 });
    const app = await slowServer(keys, 300);
    try {
      const answers = await fire(app.url, 50, 'dup-wait');
      expect(app.state.executions).toBe(1);
      expect(answers.map((a) => a.status)).toEqual(Array(50).fill(201));
      expect(new Set(answers.map((a) => a.body)).size).toBe(1);
      expect(answers.filter((a) => a.replayed === 'true')).toHaveLength(49);
    } finally {
      await app.close();
      await keys.close();
      await keys.adapter.close();
    }
  });

  it('50 concurrent duplicates with no wait: one execution; every other caller gets 409 with Retry-After', async () => {
    const keys = new Idempotency({ adapter: store(), waitMs: 0 });
    let stored = 0;
    keys.on('stored', () => stored++);
    // The one that runs is held until the 49 others have their answer.
    let open = () => {};
    const gate = new Promise<void>((r) => {
      open = r;
    });
    const app = await slowServer(keys, 0, gate);
    try {
      const settled = { count: 0 };
      const pending = fire(app.url, 50, 'dup-nowait', settled);
      await until('49 answers while the first runs', () => settled.count >= 49, 20_000);
      open();
      const answers = await pending;
      expect(app.state.executions).toBe(1);
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses.filter((s) => s === 201)).toHaveLength(1);
      expect(statuses.filter((s) => s === 409)).toHaveLength(49);
      const refused = answers.find((a) => a.status === 409)!;
      expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(JSON.parse(refused.body)).toMatchObject({
        status: 409,
        title: 'A request is outstanding for this Idempotency-Key',
      });
      // After it finished (its response is stored just after it went out): the stored response.
      await until('the response stored', () => stored === 1);
      const later = await fire(app.url, 1, 'dup-nowait');
      expect(later[0]).toMatchObject({ status: 201, replayed: 'true' });
      expect(app.state.executions).toBe(1);
    } finally {
      await app.close();
      await keys.close();
      await keys.adapter.close();
    }
  });

  it('two server processes behind the registry: each key runs once across both', async () => {
    const idemPrefix = uniquePrefix('two-idem');
    const regPrefix = uniquePrefix('two-reg');
    const effects = uniquePrefix('two-fx');
    const workers = await startWorkers<InstanceResult, InstanceEvent, { op: 'stop' }>(instance, 2, {
      env: { REDIS_URL: redis.url, IDEM_PREFIX: idemPrefix, REG_PREFIX: regPrefix, EFFECTS: effects },
    });
    const registry = new ServiceRegistry({
      adapter: redisRegistryAdapter({ connection: redis.url, prefix: regPrefix }),
      slowStartMs: 0,
    });
    const client = new ServiceClient({ service: 'payments', registry });
    try {
      workers.go();
      const urls = await Promise.all([0, 1].map((i) => workers.next(i, (m) => m.event === 'registered')));
      await registry.watch('payments');
      expect((await registry.instances('payments')).length).toBe(2);
      const ops = 20;
      const answers = await Promise.all(
        // Five duplicates in a row per key: the balancer spreads them over both processes.
        Array.from({ length: ops * 5 }, (_, i) => {
          const op = `op-${Math.floor(i / 5)}`;
          return client.post<{ op: string; by: number }>('/charges', { op }, { idempotencyKey: `key-${op}` });
        }),
      );
      const counter = redis.client();
      for (let i = 0; i < ops; i++) expect(await counter.get(`${effects}op-${i}`)).toBe('1');
      // Duplicates of one key got one answer, whichever process served them.
      for (let i = 0; i < ops; i++) {
        const byOp = answers.filter((a) => a.op === `op-${i}`);
        expect(new Set(byOp.map((a) => a.by)).size).toBe(1);
      }
      for (const w of [0, 1]) workers.send(w, { op: 'stop' });
      const results = await workers.results();
      const ran = results.flatMap((r) => r.ran);
      expect(ran.sort()).toEqual(Array.from({ length: ops }, (_, i) => `op-${i}`).sort());
      expect(results.map((r) => r.replayed).reduce((a, b) => a + b, 0)).toBe(ops * 4);
      // Duplicates reached the process that did not run them, and got the answer of the other.
      const [a, b] = results as [InstanceResult, InstanceResult];
      const crossed = [
        ...a.ran.filter((op) => b.answered.includes(op)),
        ...b.ran.filter((op) => a.answered.includes(op)),
      ];
      expect(crossed.length).toBeGreaterThan(ops / 4);
      console.log(
        `two processes: ${ops * 5} POSTs for ${ops} keys; ran ${a.ran.length} + ${b.ran.length}, ` +
          `replayed ${a.replayed} + ${b.replayed}; ${crossed.length} keys answered by the process that did not run them`,
      );
      expect(urls.map((u) => u.pid)).toEqual(results.map((r) => r.pid));
    } finally {
      workers.kill();
      await client.close();
      await registry.close();
    }
  }, 90_000);
});
