/**
 * DistributedLock (scaleout, Redis adapter) against redlock and
 * redis-semaphore on one local redis-server started here:
 * 1. commands each library sends per uncontended acquire + release;
 * 2. uncontended acquire + release ops/s, interleaved; the same with a
 *    fencing token for the peer; and the commands alone (plain ioredis);
 * 3. 100 waiters on one resource, each holding it 1 ms: total time,
 *    hand-off latency, Redis commands/s (INFO commandstats deltas, which
 *    also count calls made inside Lua scripts);
 * 4. Redis commands/s while 100 waiters wait behind a holder for 1 s;
 * 5. 50 acquire + release in flight, a new resource each, ops/s.
 */
import type { Redis } from 'ioredis';
import { Mutex } from 'redis-semaphore';
// @ts-expect-error redlock 5's `exports` map hides its types; they are imported by path below.
import RedlockModule from 'redlock';
// The built package, as users run it (`npm run bench` builds first).
import { DistributedLock } from '../dist/index.js';
import { redisLockAdapter, redisLockScripts } from '../dist/redis.js';
import type RedlockClass from '../node_modules/redlock/dist/index.js';
import { startRedisServer } from '../test/helpers/redis-server.js';
import { type BenchContext, median, redisCpuUs } from './lib.js';

const Redlock = RedlockModule as typeof RedlockClass;

type Release = () => Promise<unknown>;
type Acquire = (resource: string) => Promise<Release>;

function countCommands(client: Redis): { sent: string[]; reset(): void; restore(): void } {
  const sent: string[] = [];
  const original = client.sendCommand.bind(client);
  client.sendCommand = ((command: { name: string }, stream?: unknown) => {
    sent.push(command.name);
    return original(command as never, stream as never);
  }) as typeof client.sendCommand;
  return {
    sent,
    reset: () => {
      sent.length = 0;
    },
    restore: () => {
      client.sendCommand = original;
    },
  };
}

async function totalCalls(admin: Redis): Promise<number> {
  const info = await admin.info('commandstats');
  let total = 0;
  for (const m of info.matchAll(/calls=(\d+)/g)) total += Number(m[1]);
  return total;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const holdOneMs = () => new Promise<void>((r) => setTimeout(r, 1));

let unique = 0;

export default async function (ctx: BenchContext): Promise<void> {
  const server = await startRedisServer();
  const admin = server.client();
  const clients = { scaleout: server.client(), redlock: server.client(), semaphore: server.client() };

  const locks = new DistributedLock({
    adapter: redisLockAdapter({ connection: clients.scaleout, prefix: 'bench:' }),
    waitMs: 60_000,
  });
  const redlockDefaults = new Redlock([clients.redlock], { retryCount: -1 });
  const redlockTuned = new Redlock([clients.redlock], { retryCount: -1, retryDelay: 5, retryJitter: 2 });

  const acquirers: Record<string, Acquire> = {
    scaleout: async (resource) => {
      const lease = await locks.acquire(resource, { ttlMs: 10_000 });
      return () => lease.release();
    },
    redlock: async (resource) => {
      const lock = await redlockDefaults.acquire([resource], 10_000);
      return () => lock.release();
    },
    'redis-semaphore': async (resource) => {
      const mutex = new Mutex(clients.semaphore, resource, { lockTimeout: 10_000, acquireTimeout: 60_000 });
      await mutex.acquire();
      return () => mutex.release();
    },
  };
  const tuned: Record<string, Acquire> = {
    'redlock (retryDelay 5 ms)': async (resource) => {
      const lock = await redlockTuned.acquire([resource], 10_000);
      return () => lock.release();
    },
    'redis-semaphore (retryInterval 2 ms)': async (resource) => {
      const mutex = new Mutex(clients.semaphore, resource, {
        lockTimeout: 10_000,
        acquireTimeout: 60_000,
        retryInterval: 2,
      });
      await mutex.acquire();
      return () => mutex.release();
    },
  };

  // 1. Round trips per uncontended acquire + release.
  const rows: Array<Record<string, string | number>> = [];
  const clientOf: Record<string, Redis> = {
    scaleout: clients.scaleout,
    redlock: clients.redlock,
    'redis-semaphore': clients.semaphore,
  };
  for (const [name, acquire] of Object.entries(acquirers)) {
    const counter = countCommands(clientOf[name]!);
    for (let i = 0; i < 5; i++) await (await acquire(`warm:${name}:${i}`))(); // load scripts
    counter.reset();
    const cycles = 200;
    const before = await totalCalls(admin);
    for (let i = 0; i < cycles; i++) await (await acquire(`rt:${name}:${i}`))();
    const after = await totalCalls(admin);
    const kinds = [...new Set(counter.sent)].join(', ');
    counter.restore();
    rows.push({
      library: name,
      'client commands per acquire+release': counter.sent.length / cycles,
      'commands (kinds)': kinds,
      'server calls per cycle (incl. inside Lua)': Number(((after - before - 1) / cycles).toFixed(1)),
    });
  }
  ctx.note('Round trips per uncontended acquire + release', rows);

  // 2. Uncontended acquire + release throughput, one client each, sequential.
  const task = (acquire: Acquire, name: string, distinct: boolean) => async () => {
    const release = await acquire(distinct ? `ops:${name}:${unique++}` : `hot:${name}`);
    await release();
  };
  for (const distinct of [false, true]) {
    const what = distinct ? 'a new resource each time' : 'the same resource each time';
    await ctx.compare(
      `uncontended acquire + release, ${what}`,
      {
        scaleout: task(acquirers.scaleout!, 's', distinct),
        redlock: task(acquirers.redlock!, 'r', distinct),
        'redis-semaphore': task(acquirers['redis-semaphore']!, 'm', distinct),
      },
      { baseline: 'scaleout', rounds: 11, timeMs: 250 },
    );
    // Finer interleaving (batches of 100 ops, rotated) resists a noisy machine better.
    const names = ['scaleout', 'redlock', 'redis-semaphore'] as const;
    const rates = new Map<string, number[]>(names.map((n) => [n, []]));
    // This process's CPU per cycle (user + system): the client side of the cost.
    const cpu = new Map<string, number[]>(names.map((n) => [n, []]));
    const rounds = ctx.quick ? 6 : 40;
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < names.length; k++) {
        const name = names[(k + round) % names.length]!;
        const run = task(acquirers[name]!, `b${name}`, distinct);
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        for (let i = 0; i < 100; i++) await run();
        rates.get(name)!.push(100 / ((performance.now() - t0) / 1000));
        const used = process.cpuUsage(c0);
        cpu.get(name)!.push((used.user + used.system) / 100);
      }
    }
    const base = median(rates.get('scaleout')!);
    ctx.note(
      `uncontended acquire + release, ${what}: ${rounds} rotated batches of 100`,
      names.map((n) => ({
        library: n,
        'median ops/s': Math.round(median(rates.get(n)!)),
        'scaleout / library': Number((base / median(rates.get(n)!)).toFixed(2)),
        'client CPU µs per cycle': Number(median(cpu.get(n)!).toFixed(1)),
      })),
    );
  }

  // 2b. The same with a fencing token for every holder. The peers issue none:
  // with redis-semaphore a user needing one would INCR a counter after acquiring.
  {
    const fenced: Acquire = async (resource) => {
      const mutex = new Mutex(clients.semaphore, resource, { lockTimeout: 10_000, acquireTimeout: 60_000 });
      await mutex.acquire();
      await clients.semaphore.incr(`fence:${resource}`);
      return () => mutex.release();
    };
    await ctx.compare(
      'uncontended acquire + release with a fencing token, a new resource each time',
      {
        scaleout: task(acquirers.scaleout!, 'fs', true),
        'redis-semaphore + INCR for a token': task(fenced, 'fm', true),
      },
      { baseline: 'scaleout', rounds: 11, timeMs: 250 },
    );
  }

  // 2c. The floor: the commands alone, sent with plain ioredis calls (no
  // library code around them). Ours: the acquire script (SET NX PX + INCR of
  // the fencing counter) and the release script (compare, DEL; PUBLISH only
  // when an acquire was refused meanwhile).
  // redis-semaphore's: a bare SET NX PX and its compare-and-delete script.
  {
    const raw = server.client();
    await redisLockScripts.acquireLock.load(raw);
    await redisLockScripts.releaseLock.load(raw);
    const peerRelease = (await raw.script(
      'LOAD',
      'if redis.call("get",KEYS[1]) == ARGV[1] then return redis.call("del",KEYS[1]) else return 0 end',
    )) as string;
    const acquireSha = redisLockScripts.acquireLock.sha;
    const releaseSha = redisLockScripts.releaseLock.sha;
    const commands: Record<string, () => Promise<unknown>> = {
      'our scripts (EVALSHA acquire, EVALSHA release)': async () => {
        await raw.evalsha(
          acquireSha,
          3,
          'floor:{a}',
          'floor:{a}:fence',
          'floor:{a}:waiting',
          't',
          '10000',
          '86400000',
        );
        await raw.evalsha(releaseSha, 2, 'floor:{a}', 'floor:{a}:waiting', 't');
      },
      "redis-semaphore's (SET NX PX, EVALSHA release)": async () => {
        await raw.set('floor:b', 't', 'PX', 10_000, 'NX');
        await raw.evalsha(peerRelease, 1, 'floor:b', 't');
      },
    };
    const names = Object.keys(commands);
    const rates = new Map<string, number[]>(names.map((n) => [n, []]));
    const rounds = ctx.quick ? 6 : 40;
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < names.length; k++) {
        const name = names[(k + round) % names.length]!;
        const run = commands[name]!;
        const t0 = performance.now();
        for (let i = 0; i < 100; i++) await run();
        rates.get(name)!.push(100 / ((performance.now() - t0) / 1000));
      }
    }
    const base = median(rates.get(names[0]!)!);
    ctx.note(
      `the commands alone, plain ioredis calls, no library code: ${rounds} rotated batches of 100`,
      names.map((n) => ({
        commands: n,
        'median cycles/s': Math.round(median(rates.get(n)!)),
        'ours / these': Number((base / median(rates.get(n)!)).toFixed(2)),
      })),
    );
    raw.disconnect();
  }

  // 3. 100 waiters on one resource, each holding it 1 ms.
  const waitersRows: Array<Record<string, string | number>> = [];
  const all = { ...acquirers, ...tuned };
  const repeats = ctx.quick ? 1 : 3;
  // Round 0 is a warm-up for every library (the contended code paths run for
  // the first time and get compiled there); it is not recorded.
  for (let rep = 0; rep <= repeats; rep++) {
    for (const [name, acquire] of Object.entries(all)) {
      const resource = `contended:${name}:${rep}`;
      const acquiredAt: number[] = [];
      const releaseCalledAt: number[] = [];
      const before = await totalCalls(admin);
      const started = performance.now();
      await Promise.all(
        Array.from({ length: 100 }, async () => {
          const release = await acquire(resource);
          acquiredAt.push(performance.now());
          await holdOneMs();
          releaseCalledAt.push(performance.now());
          await release();
        }),
      );
      const totalMs = performance.now() - started;
      const calls = (await totalCalls(admin)) - before - 1;
      // Holders are serial: the i-th acquire follows the (i-1)-th release.
      const handoffs = acquiredAt.slice(1).map((t, i) => t - releaseCalledAt[i]!);
      if (rep === 0) continue;
      waitersRows.push({
        library: name,
        round: rep,
        'total ms': Math.round(totalMs),
        'hand-off p50 ms': Number(percentile(handoffs, 50).toFixed(2)),
        'hand-off p99 ms': Number(percentile(handoffs, 99).toFixed(2)),
        'hand-off max ms': Number(Math.max(...handoffs).toFixed(2)),
        'Redis calls': calls,
        'Redis calls/s': Math.round(calls / (totalMs / 1000)),
      });
    }
  }
  ctx.note('100 waiters on one resource, each holding it 1 ms', waitersRows);

  // 4. Load on Redis while 100 waiters wait behind a holder for 1 s.
  const idleRows: Array<Record<string, string | number>> = [];
  for (const [name, acquire] of Object.entries(all)) {
    const resource = `idle:${name}`;
    const releaseHolder = await acquire(resource);
    const waiting = Array.from({ length: 100 }, async () => (await acquire(resource))());
    await new Promise((r) => setTimeout(r, 100)); // let every waiter make its first attempt
    const before = await totalCalls(admin);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 1000));
    const calls = (await totalCalls(admin)) - before - 1;
    const seconds = (performance.now() - t0) / 1000;
    await releaseHolder();
    await Promise.all(waiting);
    idleRows.push({ library: name, 'Redis calls/s while waiting': Math.round(calls / seconds) });
  }
  ctx.note('Redis calls/s while 100 waiters wait 1 s behind a holder', idleRows);

  // 5. 50 acquire + release in flight, each on a new resource: scaleout on a
  // connection it creates from a URL (a tick's scripts written 8 at a time)
  // and on a client passed in (used as it is), with `fencing: false` (a plain
  // SET NX PX, no token), the peers on their own ioredis clients.
  {
    const owned = new DistributedLock({
      adapter: redisLockAdapter({ connection: server.url, prefix: 'bench:o:' }),
      waitMs: 60_000,
    });
    const ownedAcquire: Acquire = async (resource) => {
      const lease = await owned.acquire(resource, { ttlMs: 10_000 });
      return () => lease.release();
    };
    const unfenced = new DistributedLock({
      adapter: redisLockAdapter({ connection: server.url, prefix: 'bench:u:', fencing: false }),
      waitMs: 60_000,
    });
    const unfencedAcquire: Acquire = async (resource) => {
      const lease = await unfenced.acquire(resource, { ttlMs: 10_000 });
      return () => lease.release();
    };
    const fenced: Acquire = async (resource) => {
      const mutex = new Mutex(clients.semaphore, resource, { lockTimeout: 10_000, acquireTimeout: 60_000 });
      await mutex.acquire();
      await clients.semaphore.incr(`fence:${resource}`);
      return () => mutex.release();
    };
    const batch = 50;
    const many = (acquire: Acquire, name: string) => () =>
      Promise.all(
        Array.from({ length: batch }, async () => {
          const release = await acquire(`flight:${name}:${unique++}`);
          await release();
        }),
      );
    await ctx.compare(
      `acquire + release, ${batch} in flight, a new resource each (ops/s)`,
      {
        'scaleout, connection from a URL': many(ownedAcquire, 'so'),
        'scaleout, your ioredis client': many(acquirers.scaleout!, 'sc'),
        'scaleout, fencing: false (no token)': many(unfencedAcquire, 'su'),
        redlock: many(acquirers.redlock!, 'r'),
        'redis-semaphore': many(acquirers['redis-semaphore']!, 'm'),
        'redis-semaphore + INCR for a token': many(fenced, 'mf'),
      },
      { baseline: 'scaleout, connection from a URL', rounds: 9, timeMs: 400, opsPerCall: batch },
    );
    await ctx.cpuPerOp(
      `acquire + release, ${batch} in flight, a new resource each: CPU per cycle, client + redis-server`,
      {
        'scaleout, connection from a URL': many(ownedAcquire, 'co'),
        'scaleout, your ioredis client': many(acquirers.scaleout!, 'cc'),
        'scaleout, fencing: false (no token)': many(unfencedAcquire, 'cu'),
        redlock: many(acquirers.redlock!, 'cr'),
        'redis-semaphore': many(acquirers['redis-semaphore']!, 'cm'),
        'redis-semaphore + INCR for a token': many(fenced, 'cf'),
      },
      { serverCpuUs: () => redisCpuUs(admin), opsPerCall: batch, baseline: 'redis-semaphore' },
    );
    await owned.close();
    await owned.adapter.close?.();
    await unfenced.close();
    await unfenced.adapter.close?.();
  }

  await locks.close();
  await server.stop();
}
