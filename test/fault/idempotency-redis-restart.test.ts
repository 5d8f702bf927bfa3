import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Idempotency, idempotencyNode } from '../../src/index.js';
import { escapeGlob, redisIdempotencyStore } from '../../src/redis.js';
import { uniquePrefix } from '../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { sleep, until } from '../helpers/wait.js';

/**
 * A server whose handler waits on a gate the test opens, so that Redis can
 * be killed and restarted while a request is in flight. `answer` decides
 * the status of each call.
 */
async function gatedServer(keys: Idempotency, answer: (call: number) => number) {
  const guard = idempotencyNode(keys);
  const state = { calls: 0, effects: 0, entered: 0, open: () => {} };
  let gate = new Promise<void>((r) => {
    state.open = r;
  });
  const read = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString());
  };
  const server: Server = createServer(async (req, res) => {
    const body = await read(req);
    if (!(await guard(req, res, { body }))) return;
    const call = ++state.calls;
    state.entered++;
    await gate;
    const status = answer(call);
    if (status < 500) state.effects++;
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ call }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/pay`;
  return {
    state,
    url,
    release() {
      state.open();
      gate = Promise.resolve();
    },
    close: () => new Promise((r) => server.close(r)),
  };
}

const post = (url: string, key: string) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: '{"op":1}',
  });

describe('the idempotency store (Redis) restarted mid-request', () => {
  for (const persist of [true, false]) {
    describe(
      persist ? 'with AOF persistence' : 'without persistence (the record is lost in the restart)',
      () => {
        let redis: RedisServer;
        beforeAll(async () => {
          redis = await startRedisServer({ persist });
        });
        afterAll(async () => {
          await redis?.stop();
        });

        it('no duplicate: the response is stored once Redis is back, and the retry replays it', async () => {
          const keys = new Idempotency({
            adapter: redisIdempotencyStore({ connection: redis.url, prefix: uniquePrefix('restart') }),
            leaseMs: 20_000,
            waitMs: 5_000,
          });
          const stored: string[] = [];
          keys.on('stored', (e) => stored.push(e.key));
          const app = await gatedServer(keys, () => 201);
          try {
            const first = post(app.url, 'k-1');
            await until('the handler to run', () => app.state.entered === 1);
            await redis.kill();
            app.release();
            expect((await first).status).toBe(201); // answered while Redis is down
            await sleep(300);
            expect(stored).toEqual([]);
            await redis.restart();
            await until('the response stored after the restart', () => stored.length === 1, 20_000);
            const retry = await post(app.url, 'k-1');
            expect(retry.status).toBe(201);
            expect(retry.headers.get('idempotency-replayed')).toBe('true');
            expect(await retry.json()).toEqual({ call: 1 });
            expect(app.state.effects).toBe(1);
          } finally {
            await app.close();
            await keys.close();
            await keys.adapter.close();
          }
        }, 60_000);
      },
    );
  }

  describe('a claim that cannot be released while Redis is down', () => {
    let redis: RedisServer;
    beforeAll(async () => {
      redis = await startRedisServer({ persist: true });
    });
    afterAll(async () => {
      await redis?.stop();
    });

    it('is not stuck past its lease: the key frees itself, and the retry runs (once)', async () => {
      const leaseMs = 1_500;
      const store = redisIdempotencyStore({ connection: redis.url, prefix: uniquePrefix('stuck') });
      const keys = new Idempotency({ adapter: store, leaseMs, waitMs: 0 });
      let stored = 0;
      keys.on('stored', () => stored++);
      // The first call fails (503: nothing done, not kept); later calls succeed.
      const app = await gatedServer(keys, (call) => (call === 1 ? 503 : 201));
      try {
        const first = post(app.url, 'k-2');
        await until('the handler to run', () => app.state.entered === 1);
        await redis.kill();
        const killedAt = Date.now();
        app.release();
        expect((await first).status).toBe(503);
        // Down for longer than the lease: the release cannot reach Redis in time.
        await sleep(leaseMs + 500);
        await redis.restart();
        // Expired with its lease (or released once Redis was back): nothing left at the key.
        expect(await redis.client().keys(`${escapeGlob(store.prefix)}*`)).toEqual([]);
        expect(Date.now() - killedAt).toBeGreaterThan(leaseMs);
        const retry = await post(app.url, 'k-2');
        expect(retry.status).toBe(201);
        expect(retry.headers.get('idempotency-replayed')).toBeNull();
        // Its response is stored just after it went out (no wait configured for a repeat).
        await until('the retry stored', () => stored === 1);
        const again = await post(app.url, 'k-2');
        expect(again.headers.get('idempotency-replayed')).toBe('true');
        expect(app.state.effects).toBe(1);
      } finally {
        await app.close();
        await keys.close();
        await store.close();
      }
    }, 60_000);
  });
});
