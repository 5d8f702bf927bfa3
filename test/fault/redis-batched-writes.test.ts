import type { RedisOptions } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisCacheAdapter } from '../../src/adapters/redis/cache.js';
import { redisLockAdapter } from '../../src/adapters/redis/lock.js';
import { redisRateLimitAdapter } from '../../src/adapters/redis/rate-limit.js';
import { RedisSessionAdapter } from '../../src/adapters/redis/session.js';
import { DistributedCache } from '../../src/cache/index.js';
import { ConnectionError, isScaleoutError } from '../../src/errors.js';
import { DistributedLock } from '../../src/lock/index.js';
import { RateLimiter } from '../../src/rate-limit/rate-limiter.js';
import { SessionStore } from '../../src/session/session-store.js';
import { type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.js';
import { uniquePrefix } from '../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { eventually } from '../helpers/wait.js';

// Connections scaleout creates (ioredis options, not a client) send one
// tick's commands in one socket write. Here 50 calls are in flight at once
// on such a connection when the network fails: every call still settles on
// its own, typed, and nothing written before is lost.
let server: RedisServer;
let proxy: FaultProxy;

beforeAll(async () => {
  server = await startRedisServer();
  proxy = await startFaultProxy({ port: server.port });
});
afterAll(async () => {
  await proxy?.close();
  await server?.stop();
});

/** Options for a connection scaleout creates, through the fault proxy. */
const viaProxy = (extra: RedisOptions = {}): RedisOptions => ({
  host: '127.0.0.1',
  port: proxy.port,
  maxRetriesPerRequest: 1,
  retryStrategy: () => 50,
  ...extra,
});
const IN_FLIGHT = 50;

describe('sessions on a batched connection, 50 calls in flight', () => {
  for (const fault of [
    { name: 'every connection reset', mode: { kind: 'reset' } as const },
    { name: 'latency beyond the command timeout', mode: { kind: 'delay', ms: 2_000 } as const },
  ]) {
    it(`${fault.name}: every get and update rejects with ConnectionError; all 50 sessions read back intact after`, async () => {
      proxy.setMode({ kind: 'pass' });
      const sessions = new SessionStore<{ n: number }>({
        adapter: new RedisSessionAdapter({
          connection: viaProxy({ commandTimeout: 1_000 }),
          prefix: uniquePrefix('s-batch'),
        }),
      });
      try {
        const made = await Promise.all(Array.from({ length: IN_FLIGHT }, (_, n) => sessions.create({ n })));
        proxy.setMode(fault.mode);
        try {
          const results = await Promise.allSettled([
            ...made.map((s) => sessions.get(s.id)),
            ...made.map((s) => sessions.update(s.id, (d) => ({ n: d.n + 1000 }))),
          ]);
          for (const r of results) {
            expect(r.status).toBe('rejected');
            const err = (r as PromiseRejectedResult).reason;
            expect(err).toBeInstanceOf(ConnectionError);
            expect(isScaleoutError(err, 'ERR_CONNECTION')).toBe(true);
          }
        } finally {
          proxy.setMode({ kind: 'pass' });
        }
        // An update that timed out on the client may still have landed on
        // the server (the documented ambiguity of a timeout): a value is
        // either the original or updated exactly once, never lost or mixed up.
        const back = await eventually(() => Promise.all(made.map((s) => sessions.get(s.id))));
        back.forEach((s, n) => {
          expect(s).toBeDefined();
          expect([n, n + 1000]).toContain(s!.data.n);
        });
        const updated = await Promise.all(made.map((s) => sessions.update(s.id, (d) => ({ n: d.n + 1 }))));
        updated.forEach((s, n) => {
          expect([n + 1, n + 1001]).toContain(s.data.n);
        });
      } finally {
        proxy.setMode({ kind: 'pass' });
        await sessions.adapter.close?.();
        await sessions.close();
      }
    }, 60_000);
  }
});

describe('cache (Redis tier) on a batched connection, 50 calls in flight', () => {
  it('every connection reset: 50 getOrSet answer from their loaders; after the fault, 50 reads in flight find what was written', async () => {
    proxy.setMode({ kind: 'pass' });
    const cache = new DistributedCache({
      adapter: redisCacheAdapter({ connection: viaProxy(), prefix: uniquePrefix('c-batch') }),
      l1: false,
      operationTimeoutMs: 300,
      circuitThreshold: 10_000,
    });
    try {
      await cache.ready();
      await Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => cache.set(`k${i}`, { i })));
      proxy.setMode({ kind: 'reset' });
      try {
        const answers = await Promise.all(
          Array.from({ length: IN_FLIGHT }, (_, i) => cache.getOrSet(`k${i}`, () => ({ i, from: 'loader' }))),
        );
        answers.forEach((a, i) => {
          expect(a).toMatchObject({ i });
        });
      } finally {
        proxy.setMode({ kind: 'pass' });
      }
      const back = await eventually(async () => {
        const values = await Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => cache.get(`k${i}`)));
        if (values.some((v) => v === undefined)) throw new Error('not back yet');
        return values;
      });
      back.forEach((v, i) => {
        expect((v as { i: number }).i).toBe(i);
      });
    } finally {
      proxy.setMode({ kind: 'pass' });
      await cache.close();
    }
  }, 60_000);
});

describe('lock on a batched connection, 50 calls in flight', () => {
  it('every connection reset: 50 acquires reject with a typed error and grant nothing; after it, 50 in flight are granted with larger fencing tokens', async () => {
    proxy.setMode({ kind: 'pass' });
    const prefix = uniquePrefix('l-batch');
    const locks = new DistributedLock({
      adapter: redisLockAdapter({ connection: viaProxy(), prefix }),
      operationTimeoutMs: 500,
    });
    // Another process (a direct connection) checks that nothing was granted during the fault.
    const other = new DistributedLock({ adapter: redisLockAdapter({ connection: server.url, prefix }) });
    try {
      const before = await Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => locks.acquire(`r${i}`)));
      const tokens = before.map((l) => l.fencingToken);
      await Promise.all(before.map((l) => l.release()));
      proxy.setMode({ kind: 'reset' });
      try {
        const results = await Promise.allSettled(
          Array.from({ length: IN_FLIGHT }, (_, i) => locks.acquire(`r${i}`, { waitMs: 0 })),
        );
        for (const r of results) {
          expect(r.status).toBe('rejected');
          const reason = (r as PromiseRejectedResult).reason;
          expect(isScaleoutError(reason, 'ERR_CONNECTION') || isScaleoutError(reason, 'ERR_TIMEOUT')).toBe(
            true,
          );
        }
      } finally {
        proxy.setMode({ kind: 'pass' });
      }
      // A grant that timed out on the client may have landed: it expires
      // with its TTL; until then another holder cannot get in.
      const after = await eventually(() =>
        Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => other.acquire(`r${i}`, { waitMs: 35_000 }))),
      );
      after.forEach((l, i) => {
        expect(l.fencingToken).toBeGreaterThan(tokens[i]!);
      });
      await Promise.all(after.map((l) => l.release()));
      const again = await eventually(() =>
        Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => locks.acquire(`r${i}`, { waitMs: 0 }))),
      );
      again.forEach((l, i) => {
        expect(l.fencingToken).toBeGreaterThan(after[i]!.fencingToken);
      });
      await Promise.all(again.map((l) => l.release()));
    } finally {
      proxy.setMode({ kind: 'pass' });
      await locks.adapter.close();
      await locks.close();
      await other.adapter.close();
      await other.close();
    }
  }, 90_000);
});

describe('rate limiter on a batched connection, 50 decisions in flight', () => {
  it('every connection reset: 50 consumes fail typed (failOpen: false) or answer from the insurance limiter; no count is lost after', async () => {
    proxy.setMode({ kind: 'pass' });
    const prefix = uniquePrefix('rl-batch');
    const make = (failOpen: boolean) =>
      new RateLimiter({
        adapter: redisRateLimitAdapter({ connection: viaProxy(), prefix }),
        name: 'f',
        limits: { limit: 10, windowMs: 600_000 },
        operationTimeoutMs: 500,
        failOpen,
      });
    const strict = make(false);
    const open = make(true);
    const keys = Array.from({ length: IN_FLIGHT }, (_, i) => `k${i}`);
    try {
      const before = await Promise.all(keys.map((k) => strict.consume(k)));
      expect(before.every((d) => d.allowed && d.remaining === 9 && d.source === 'adapter')).toBe(true);
      proxy.setMode({ kind: 'reset' });
      try {
        const refused = await Promise.allSettled(keys.map((k) => strict.consume(k)));
        for (const r of refused) {
          expect(r.status).toBe('rejected');
          const code = ((r as PromiseRejectedResult).reason as { code?: string }).code;
          expect(['ERR_CONNECTION', 'ERR_TIMEOUT']).toContain(code);
        }
        const insured = await Promise.all(keys.map((k) => open.consume(k)));
        expect(insured.every((d) => d.allowed && d.source === 'insurance')).toBe(true);
      } finally {
        proxy.setMode({ kind: 'pass' });
      }
      // A consume refused on the client may still have reached Redis (the
      // ambiguity of a reset): each key holds 1 or 2 units, never 0.
      const after = await eventually(() => Promise.all(keys.map((k) => strict.peek(k))));
      for (const d of after) {
        expect(d.source).toBe('adapter');
        expect([8, 9]).toContain(d.remaining);
      }
    } finally {
      proxy.setMode({ kind: 'pass' });
      await strict.close();
      await open.close();
      await strict.adapter.close();
      await open.adapter.close();
    }
  }, 60_000);
});
