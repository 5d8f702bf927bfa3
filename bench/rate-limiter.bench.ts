/**
 * RateLimiter (scaleout) against rate-limiter-flexible (RateLimiterRedis,
 * RateLimiterMemory, RateLimiterUnion) and express-rate-limit (its stores:
 * rate-limit-redis's RedisStore, and its MemoryStore), on one local
 * redis-server started here:
 * 1. commands the client sends per decision (one limit, two limits), and
 *    server calls per decision (INFO commandstats, calls inside Lua included);
 * 2. decisions/s, sequential and 50 in flight, on Redis (one limit; two
 *    limits) and in memory, interleaved rounds, ratios against scaleout;
 * 3. memory per key, in Redis (used_memory delta and MEMORY USAGE) and in
 *    the process heap for the in-memory limiters;
 * 4. what each allows where exactness is at stake: two bursts across a
 *    window's end, and a limit pair ("5 per second and 100 per minute")
 *    hit by 20 requests at once.
 * Every limiter is given limits it never reaches in 2 and 3, so each
 * decision is a successful consume of one unit.
 */

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MemoryStore } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import { RedisStore } from 'rate-limit-redis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterUnion } from 'rate-limiter-flexible';
// The built package, as users run it (`npm run bench` builds first).
import { RateLimiter, type RateLimiterOptions } from '../dist/index.js';
import { redisRateLimitAdapter } from '../dist/redis.js';
import { startRedisServer } from '../test/helpers/redis-server.js';
import { type BenchContext, median, redisCpuUs } from './lib.js';

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

type Decide = (key: string) => Promise<boolean>;

/** Never reached: 1e9 per minute (scaleout caps limit * windowMs at 2^50). */
const HUGE = 1_000_000_000;
const KEYS = Array.from({ length: 1_000 }, (_, i) => `user-${i}`);

function countCommands(client: Redis): { sent: string[]; restore(): void } {
  const sent: string[] = [];
  const original = client.sendCommand.bind(client);
  client.sendCommand = ((command: { name: string }, stream?: unknown) => {
    sent.push(command.name);
    return original(command as never, stream as never);
  }) as typeof client.sendCommand;
  return { sent, restore: () => (client.sendCommand = original) };
}

async function totalCalls(admin: Redis): Promise<number> {
  const info = await admin.info('commandstats');
  let total = 0;
  for (const m of info.matchAll(/calls=(\d+)/g)) total += Number(m[1]);
  return total;
}

async function usedMemory(admin: Redis): Promise<number> {
  const info = await admin.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)![1]);
}

/** rate-limiter-flexible resolves a consume, and rejects a denial with a RateLimiterRes. */
const flexible =
  (limiter: { consume(key: string, points?: number): Promise<unknown> }): Decide =>
  (key) =>
    limiter.consume(key).then(
      () => true,
      (res: unknown) => {
        if (res instanceof Error) throw res;
        return false;
      },
    );

/** An express-rate-limit store decides as its middleware does: increment, then compare with the limit. */
const store =
  (
    s: { increment(key: string): Promise<{ totalHits: number }> | { totalHits: number } },
    limit: number,
  ): Decide =>
  async (key) =>
    (await s.increment(key)).totalHits <= limit;

let cursor = 0;
const nextKey = () => KEYS[cursor++ % KEYS.length]!;

export default async function (ctx: BenchContext): Promise<void> {
  const server = await startRedisServer();
  const admin = server.client();
  const clients = {
    scaleout: server.client(),
    flexible: server.client(),
    expressRedis: server.client(),
    expressAuto: server.client({ enableAutoPipelining: true }),
    scaleoutAuto: server.client({ enableAutoPipelining: true }),
  };
  await Promise.all(Object.values(clients).map((c) => c.ping()));

  // --- the limiters -------------------------------------------------------
  // scaleout on a client passed in (used as it is), on one with ioredis'
  // auto-pipelining, and on a connection it creates from a URL (a tick's
  // scripts written 8 at a time), as the lock bench.
  const limiterOn = (connection: Redis | string, prefix: string, limits: RateLimiterOptions['limits']) =>
    new RateLimiter({ adapter: redisRateLimitAdapter({ connection, prefix }), name: 'b', limits });
  const oneLimit = { limit: HUGE, windowMs: 60_000 };
  const twoLimitRules: RateLimiterOptions['limits'] = [
    { limit: HUGE, windowMs: 1_000 },
    { limit: HUGE, windowMs: 60_000, algorithm: 'sliding-window' },
  ];
  const ours = limiterOn(clients.scaleout, 'so:', oneLimit);
  const oursUrl = limiterOn(server.url, 'su:', oneLimit);
  const oursAuto = limiterOn(clients.scaleoutAuto, 'sa:', oneLimit);
  const oursTwo = limiterOn(clients.scaleout, 'so2:', twoLimitRules);
  const oursTwoUrl = limiterOn(server.url, 'su2:', twoLimitRules);
  const rfRedis = new RateLimiterRedis({
    storeClient: clients.flexible,
    keyPrefix: 'rf',
    points: HUGE,
    duration: 60,
  });
  const rfUnion = new RateLimiterUnion(
    new RateLimiterRedis({ storeClient: clients.flexible, keyPrefix: 'rfs', points: HUGE, duration: 1 }),
    new RateLimiterRedis({ storeClient: clients.flexible, keyPrefix: 'rfm', points: HUGE, duration: 60 }),
  );
  const sendCommand = (...args: string[]) => clients.expressRedis.call(args[0]!, ...args.slice(1)) as never;
  const erRedis = new RedisStore({ sendCommand, prefix: 'er:' });
  erRedis.init({ windowMs: 60_000 } as never);
  // The peer on a client with ioredis' own batching on: what a user of it would try for many in flight.
  const erRedisAuto = new RedisStore({
    sendCommand: (...args: string[]) => clients.expressAuto.call(args[0]!, ...args.slice(1)) as never,
    prefix: 'era:',
  });
  erRedisAuto.init({ windowMs: 60_000 } as never);
  const erRedisSecond = new RedisStore({ sendCommand, prefix: 'ers:' });
  erRedisSecond.init({ windowMs: 1_000 } as never);
  const ourMemory = new RateLimiter({ name: 'b', limits: { limit: HUGE, windowMs: 60_000 } });
  const rfMemory = new RateLimiterMemory({ points: HUGE, duration: 60 });
  const erMemory = new MemoryStore();
  erMemory.init({ windowMs: 60_000 } as never);

  const redisDecide: Record<string, Decide> = {
    'scaleout, connection from a URL': async (key) => (await oursUrl.consume(key)).allowed,
    'scaleout, your ioredis client': async (key) => (await ours.consume(key)).allowed,
    'rate-limiter-flexible (RateLimiterRedis)': flexible(rfRedis),
    'express-rate-limit + rate-limit-redis': store(erRedis, HUGE),
  };
  const twoLimits: Record<string, Decide> = {
    'scaleout (2 limits, 1 script), connection from a URL': async (key) =>
      (await oursTwoUrl.consume(key)).allowed,
    'scaleout (2 limits, 1 script), your ioredis client': async (key) => (await oursTwo.consume(key)).allowed,
    'rate-limiter-flexible (RateLimiterUnion of 2)': flexible(rfUnion as never),
    'express-rate-limit (2 stores in a row)': async (key) =>
      (await store(erRedisSecond, HUGE)(key)) && (await store(erRedis, HUGE)(key)),
  };
  const memoryDecide: Record<string, Decide> = {
    'scaleout (memory adapter)': async (key) => (await ourMemory.consume(key)).allowed,
    'rate-limiter-flexible (RateLimiterMemory)': flexible(rfMemory),
    'express-rate-limit (MemoryStore)': store(erMemory, HUGE),
  };
  // Warm up: scripts loaded (NOSCRIPT paths out of the way), code paths compiled.
  for (const fn of [
    ...Object.values(redisDecide),
    store(erRedisAuto, HUGE),
    async (key: string) => (await oursAuto.consume(key)).allowed,
    ...Object.values(twoLimits),
    ...Object.values(memoryDecide),
  ]) {
    for (let i = 0; i < 200; i++) await fn(nextKey());
  }

  // 1. Commands per decision.
  /** The connection a limiter's Redis adapter created from a URL. */
  const urlClient = (limiter: RateLimiter) =>
    (limiter.adapter as ReturnType<typeof redisRateLimitAdapter>).client as Redis;
  const clientOf = (name: string) =>
    name.startsWith('scaleout')
      ? name.endsWith('from a URL')
        ? urlClient(name.includes('2 limits') ? oursTwoUrl : oursUrl)
        : clients.scaleout
      : name.startsWith('rate-limiter')
        ? clients.flexible
        : clients.expressRedis;
  const commandRows: Array<Record<string, string | number>> = [];
  for (const [label, table] of [
    ['one limit', redisDecide],
    ['two limits', twoLimits],
  ] as const) {
    for (const [name, decide] of Object.entries(table)) {
      const counter = countCommands(clientOf(name));
      const decisions = 200;
      const before = await totalCalls(admin);
      for (let i = 0; i < decisions; i++) await decide(nextKey());
      const after = await totalCalls(admin);
      counter.restore();
      commandRows.push({
        limits: label,
        library: name,
        'commands sent per decision': counter.sent.length / decisions,
        'commands (kinds)': [...new Set(counter.sent)].join(', '),
        'server calls per decision (incl. inside Lua)': Number(((after - before - 1) / decisions).toFixed(1)),
      });
    }
  }
  ctx.note('Redis round trips per decision', commandRows);

  // 2. Decisions per second.
  const fifty = (decide: Decide) => () => Promise.all(Array.from({ length: 50 }, () => decide(nextKey())));
  const sequential = (decide: Decide) => () => decide(nextKey());
  const byName = (table: Record<string, Decide>, wrap: (d: Decide) => () => unknown) =>
    Object.fromEntries(Object.entries(table).map(([n, d]) => [n, wrap(d)]));
  const options = { rounds: 9, timeMs: 400 };
  await ctx.compare('Redis, one limit: decisions/s, sequential', byName(redisDecide, sequential), options);
  const redisDecideMany: Record<string, Decide> = {
    ...redisDecide,
    'scaleout, your client with enableAutoPipelining': async (key) => (await oursAuto.consume(key)).allowed,
    'express-rate-limit + rate-limit-redis, enableAutoPipelining': store(erRedisAuto, HUGE),
  };
  await ctx.compare('Redis, one limit: decisions/s, 50 in flight', byName(redisDecideMany, fifty), {
    ...options,
    opsPerCall: 50,
  });
  await ctx.cpuPerOp(
    'Redis, one limit, 50 in flight: CPU per decision, client + redis-server',
    byName(redisDecideMany, fifty),
    {
      serverCpuUs: () => redisCpuUs(admin),
      opsPerCall: 50,
      baseline: 'express-rate-limit + rate-limit-redis',
    },
  );
  await ctx.compare('Redis, two limits: decisions/s, sequential', byName(twoLimits, sequential), options);
  await ctx.compare('Redis, two limits: decisions/s, 50 in flight', byName(twoLimits, fifty), {
    ...options,
    opsPerCall: 50,
  });
  await ctx.compare('in memory: decisions/s, sequential', byName(memoryDecide, sequential), options);
  await ctx.compare('in memory: decisions/s, 50 in flight', byName(memoryDecide, fifty), {
    ...options,
    opsPerCall: 50,
  });

  // 2b. Finer interleaving (batches of 200 sequential decisions, rotated) for the Redis rows.
  {
    const names = Object.keys(redisDecide);
    const rates = new Map<string, number[]>(names.map((n) => [n, []]));
    const cpu = new Map<string, number[]>(names.map((n) => [n, []]));
    const rounds = ctx.quick ? 6 : 40;
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < names.length; k++) {
        const name = names[(k + round) % names.length]!;
        const decide = redisDecide[name]!;
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        for (let i = 0; i < 200; i++) await decide(nextKey());
        rates.get(name)!.push(200 / ((performance.now() - t0) / 1000));
        const used = process.cpuUsage(c0);
        cpu.get(name)!.push((used.user + used.system) / 200);
      }
    }
    const base = median(rates.get(names[0]!)!);
    ctx.note(
      `Redis, one limit, sequential: ${rounds} rotated batches of 200`,
      names.map((n) => ({
        library: n,
        'median decisions/s': Math.round(median(rates.get(n)!)),
        'scaleout / library': Number((base / median(rates.get(n)!)).toFixed(2)),
        'client CPU µs per decision': Number(median(cpu.get(n)!).toFixed(1)),
      })),
    );
  }

  // 3. Memory per key: one decision per key, on a limit of 10 per minute
  // (state that lives a while: GCRA keeps a key only until its bucket is
  // full again, 6 s here; the peers keep theirs for the whole minute).
  {
    const n = ctx.quick ? 2_000 : 20_000;
    const rows: Array<Record<string, string | number>> = [];
    const memOurs = new RateLimiter({
      adapter: redisRateLimitAdapter({ connection: clients.scaleout, prefix: 'so:' }),
      name: 'b',
      limits: { limit: 10, windowMs: 60_000 },
    });
    const memFlexible = new RateLimiterRedis({
      storeClient: clients.flexible,
      keyPrefix: 'rf',
      points: 10,
      duration: 60,
    });
    const memExpress = new RedisStore({ sendCommand, prefix: 'er:' });
    memExpress.init({ windowMs: 60_000 } as never);
    const redisSide: Array<[string, Decide, string]> = [
      ['scaleout', async (k) => (await memOurs.consume(k)).allowed, 'so:{b:mem-0}:g60000'],
      ['rate-limiter-flexible (RateLimiterRedis)', flexible(memFlexible), 'rf:mem-0'],
      ['express-rate-limit + rate-limit-redis', store(memExpress, 10), 'er:mem-0'],
    ];
    for (const [name, decide, key] of redisSide) {
      await admin.flushall();
      await new Promise((r) => setTimeout(r, 50));
      const before = await usedMemory(admin);
      for (let i = 0; i < n; i += 100) {
        await Promise.all(Array.from({ length: 100 }, (_, j) => decide(`mem-${i + j}`)));
      }
      const after = await usedMemory(admin);
      rows.push({
        store: 'Redis',
        library: name,
        'bytes per key (used_memory delta / keys)': Math.round((after - before) / n),
        'MEMORY USAGE of one key': Number(await admin.memory('USAGE', key, 'SAMPLES', '0')),
        'sample key': key,
        'value stored': String(await admin.get(key)),
      });
    }
    await memOurs.close();
    await admin.flushall();
    const heapSide: Array<[string, () => { decide: Decide; close(): unknown }]> = [
      [
        'scaleout (memory adapter)',
        () => {
          const l = new RateLimiter({ name: 'b', limits: { limit: 10, windowMs: 60_000 } });
          return { decide: async (k) => (await l.consume(k)).allowed, close: () => l.close() };
        },
      ],
      [
        'rate-limiter-flexible (RateLimiterMemory)',
        () => ({ decide: flexible(new RateLimiterMemory({ points: 10, duration: 60 })), close: () => {} }),
      ],
      [
        'express-rate-limit (MemoryStore)',
        () => {
          const s = new MemoryStore();
          s.init({ windowMs: 60_000 } as never);
          return { decide: store(s, 10), close: () => s.shutdown() };
        },
      ],
    ];
    for (const [name, make] of heapSide) {
      const limiter = make();
      gc();
      const before = process.memoryUsage().heapUsed;
      for (let i = 0; i < n; i++) await limiter.decide(`heap-${i}`);
      gc();
      const after = process.memoryUsage().heapUsed;
      rows.push({
        store: 'process heap',
        library: name,
        'bytes per key (heapUsed delta / keys)': Math.round((after - before) / n),
      });
      await limiter.close();
    }
    ctx.note(`Memory per key (${n.toLocaleString('en-US')} keys, one decision each, 10 per minute)`, rows);
  }

  // 4. Exactness where it is at stake.
  {
    const rows: Array<Record<string, string | number>> = [];
    const limit = 10;
    const windowMs = 1_000;
    const fresh = {
      'scaleout (GCRA, the default)': () => {
        const l = new RateLimiter({
          adapter: redisRateLimitAdapter({ connection: clients.scaleout, prefix: `x${Date.now()}:` }),
          limits: { limit, windowMs },
        });
        return async (k: string) => (await l.consume(k)).allowed;
      },
      'scaleout (sliding window)': () => {
        const l = new RateLimiter({
          adapter: redisRateLimitAdapter({ connection: clients.scaleout, prefix: `y${Date.now()}:` }),
          limits: { limit, windowMs, algorithm: 'sliding-window' },
        });
        return async (k: string) => (await l.consume(k)).allowed;
      },
      'rate-limiter-flexible (RateLimiterRedis)': () =>
        flexible(
          new RateLimiterRedis({
            storeClient: clients.flexible,
            keyPrefix: `z${Date.now()}`,
            points: limit,
            duration: 1,
          }),
        ),
      'express-rate-limit + rate-limit-redis': () => {
        const s = new RedisStore({ sendCommand, prefix: `w${Date.now()}:` });
        s.init({ windowMs } as never);
        return store(s, limit);
      },
    };
    // One request opens the key's window; 9 more just before that window ends; 10 just after it.
    for (const [name, make] of Object.entries(fresh)) {
      const decide = make();
      const key = 'burst';
      await decide(key);
      const opened = performance.now();
      // Our windows are aligned to the epoch (GCRA has none); theirs start at the first request.
      await new Promise((r) => setTimeout(r, windowMs - 80));
      const firstBurst = await Promise.all(Array.from({ length: limit - 1 }, () => decide(key)));
      await new Promise((r) => setTimeout(r, Math.max(0, opened + windowMs + 30 - performance.now())));
      const secondBurst = await Promise.all(Array.from({ length: limit }, () => decide(key)));
      const spanMs = Math.round(performance.now() - opened - (windowMs - 80));
      const allowed = [...firstBurst, ...secondBurst].filter(Boolean).length;
      rows.push({
        library: name,
        'allowed in the two bursts': allowed,
        'span of the bursts (ms)': spanMs,
        'limit over that span if exact': `${limit} + refill (${Math.floor((spanMs * limit) / windowMs)})`,
      });
    }
    ctx.note('Two bursts across the end of a window (10 per second, bursts ~110 ms apart)', rows);

    // A limit pair hit by 20 requests at once: what is left of the per-minute limit afterwards.
    const pair: Array<Record<string, string | number>> = [];
    {
      const l = new RateLimiter({
        adapter: redisRateLimitAdapter({ connection: clients.scaleout, prefix: `p${Date.now()}:` }),
        limits: [
          { limit: 5, windowMs: 1_000 },
          { limit: 100, windowMs: 60_000, algorithm: 'fixed-window' },
        ],
      });
      const results = await Promise.all(Array.from({ length: 20 }, () => l.consume('pair')));
      const peek = await l.peek('pair');
      pair.push({
        library: 'scaleout (2 limits, atomic)',
        allowed: results.filter((r) => r.allowed).length,
        'per-minute units left': peek.policies[1]!.remaining,
        'units taken by denied requests':
          100 - peek.policies[1]!.remaining - results.filter((r) => r.allowed).length,
      });
    }
    {
      const perSecond = new RateLimiterRedis({
        storeClient: clients.flexible,
        keyPrefix: `ps${Date.now()}`,
        points: 5,
        duration: 1,
      });
      const perMinute = new RateLimiterRedis({
        storeClient: clients.flexible,
        keyPrefix: `pm${Date.now()}`,
        points: 100,
        duration: 60,
      });
      const union = new RateLimiterUnion(perSecond, perMinute);
      const results = await Promise.all(Array.from({ length: 20 }, () => flexible(union as never)('pair')));
      const left = (await perMinute.get('pair'))?.remainingPoints ?? 100;
      const allowed = results.filter(Boolean).length;
      pair.push({
        library: 'rate-limiter-flexible (RateLimiterUnion)',
        allowed,
        'per-minute units left': left,
        'units taken by denied requests': 100 - left - allowed,
      });
    }
    {
      const perSecond = new RedisStore({ sendCommand, prefix: `es${Date.now()}:` });
      perSecond.init({ windowMs: 1_000 } as never);
      const perMinute = new RedisStore({ sendCommand, prefix: `em${Date.now()}:` });
      perMinute.init({ windowMs: 60_000 } as never);
      // Two express-rate-limit middlewares in a row, per-minute first: each counts before it decides.
      const results = await Promise.all(
        Array.from(
          { length: 20 },
          async () => (await store(perMinute, 100)('pair')) && (await store(perSecond, 5)('pair')),
        ),
      );
      const left = 100 - ((await perMinute.get?.('pair'))?.totalHits ?? 0);
      const allowed = results.filter(Boolean).length;
      pair.push({
        library: 'express-rate-limit (2 middlewares)',
        allowed,
        'per-minute units left': left,
        'units taken by denied requests': 100 - left - allowed,
      });
    }
    ctx.note('"5 per second and 100 per minute", 20 requests at once', pair);
  }

  await ours.close();
  await oursTwo.close();
  await oursAuto.close();
  for (const limiter of [oursUrl, oursTwoUrl]) {
    await limiter.close();
    await limiter.adapter.close();
  }
  await ourMemory.close();
  erMemory.shutdown();
  await server.stop();
}
