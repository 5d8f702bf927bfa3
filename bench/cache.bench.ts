/**
 * DistributedCache side by side with the caches a team would otherwise pick
 * (bentocache and cache-manager, each with its memory tier and the same
 * local redis-server), and raw ioredis GET + JSON.parse for the Redis tier.
 * Runs the built package (`npm run bench` builds first), as users do.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createKeyv } from '@keyv/redis';
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { redisDriver } from 'bentocache/drivers/redis';
import { createCache } from 'cache-manager';
import { Keyv } from 'keyv';
import { DistributedCache, memoryCacheAdapter } from '../dist/index.js';
import { redisCacheAdapter } from '../dist/redis.js';
import { startRedisServer } from '../test/helpers/redis-server.js';
import { type BenchContext, redisCpuUs } from './lib.js';

const user = {
  id: 'u_01HF3',
  name: 'Ada Lovelace',
  email: 'ada@example.com',
  roles: ['admin', 'billing'],
  address: { street: '12 St James Sq', city: 'London', zip: 'SW1Y 4JH' },
};
const loader = async () => user;
const HOUR = 3_600_000;

async function stampede(library: string, url: string, processes: number, callers: number): Promise<number> {
  const prefix = `bench:stampede:${library}:${Date.now()}:`;
  const worker = fileURLToPath(new URL('./cache-stampede-worker.ts', import.meta.url));
  const children = Array.from({ length: processes }, () =>
    fork(worker, [library, url, prefix, String(callers)], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  const next = (child: (typeof children)[number], type: string) =>
    new Promise<void>((resolve, reject) => {
      const onMessage = (m: { type: string; message?: string }) => {
        if (m.type === type) {
          child.off('message', onMessage);
          resolve();
        } else if (m.type === 'error') reject(new Error(`${library} worker: ${m.message}`));
      };
      child.on('message', onMessage);
      child.once('exit', (code) => reject(new Error(`${library} worker exited with ${code}`)));
    });
  await Promise.all(children.map((c) => next(c, 'ready')));
  const done = children.map((c) => next(c, 'done'));
  for (const c of children) c.send('go');
  await Promise.all(done);
  await Promise.all(
    children.map((c) => new Promise((r) => (c.exitCode === null ? c.once('exit', r) : r(null)))),
  );
  const { Redis } = await import('ioredis');
  const admin = new Redis(url);
  const calls = Number((await admin.get(`${prefix}loader-calls`)) ?? 0);
  admin.disconnect();
  return calls;
}

export default async function (ctx: BenchContext): Promise<void> {
  const server = await startRedisServer();
  try {
    const redis = server.client();

    // ---- memory tier (L1) ----------------------------------------------------
    const scaleout = new DistributedCache({
      adapter: redisCacheAdapter({ connection: server.client(), prefix: 'bench:so:' }),
      defaultTtlMs: HOUR,
    });
    await scaleout.ready();
    await scaleout.set('user:1', user);

    const bentoMemory = new BentoCache({
      default: 'memory',
      stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: 10_000 })) },
    });
    await bentoMemory.set({ key: 'user:1', value: user, ttl: HOUR });

    const managerMemory = createCache({ stores: [new Keyv()] });
    await managerMemory.set('user:1', user, HOUR);

    await ctx.compare(
      'L1 (memory tier) hit: get',
      {
        'cache-manager get': () => managerMemory.get('user:1'),
        'bentocache get': () => bentoMemory.get({ key: 'user:1' }),
        'scaleout get': () => scaleout.get('user:1'),
      },
      { baseline: 'cache-manager get' },
    );

    await ctx.compare(
      'L1 (memory tier) hit: getOrSet',
      {
        'cache-manager wrap': () => managerMemory.wrap('user:1', loader, HOUR),
        'bentocache getOrSet': () => bentoMemory.getOrSet({ key: 'user:1', factory: loader, ttl: HOUR }),
        'scaleout getOrSet': () => scaleout.getOrSet('user:1', loader),
      },
      { baseline: 'cache-manager wrap' },
    );

    // ---- Redis tier (no L1) ---------------------------------------------------
    const text = JSON.stringify(user);
    await redis.set('bench:raw:user:1', text);
    const scaleoutL2 = new DistributedCache({
      adapter: redisCacheAdapter({ connection: server.client(), prefix: 'bench:so2:' }),
      l1: false,
      defaultTtlMs: HOUR,
    });
    await scaleoutL2.set('user:1', user);
    const bentoRedis = new BentoCache({
      default: 'redis',
      stores: { redis: bentostore().useL2Layer(redisDriver({ connection: server.client() })) },
    });
    await bentoRedis.set({ key: 'user:1', value: user, ttl: HOUR });
    const managerRedis = createCache({ stores: [createKeyv(server.url, { namespace: 'bench-cm' })] });
    await managerRedis.set('user:1', user, HOUR);

    // The same record through a connection scaleout creates (from a URL),
    // which writes one tick's commands together.
    const scaleoutOwned = new DistributedCache({
      adapter: redisCacheAdapter({ connection: server.url, prefix: 'bench:so2:' }),
      l1: false,
      defaultTtlMs: HOUR,
    });
    await scaleoutOwned.ready();

    await ctx.compare(
      'Redis tier: get of a 200-byte record (no L1)',
      {
        'ioredis GET + JSON.parse': async () => JSON.parse((await redis.get('bench:raw:user:1'))!),
        'cache-manager get (@keyv/redis)': () => managerRedis.get('user:1'),
        'bentocache get (L2 only)': () => bentoRedis.get({ key: 'user:1' }),
        'scaleout get (l1: false)': () => scaleoutL2.get('user:1'),
        'scaleout get (l1: false), connection from a URL': () => scaleoutOwned.get('user:1'),
      },
      { baseline: 'ioredis GET + JSON.parse', rounds: 9 },
    );

    const batch = 50;
    const many = (fn: () => Promise<unknown>) => () => Promise.all(Array.from({ length: batch }, fn));
    await ctx.compare(
      `Redis tier: get of a 200-byte record (no L1), ${batch} in flight (ops/s)`,
      {
        'ioredis GET + JSON.parse': many(async () => JSON.parse((await redis.get('bench:raw:user:1'))!)),
        'cache-manager get (@keyv/redis)': many(() => managerRedis.get('user:1')),
        'bentocache get (L2 only)': many(() => bentoRedis.get({ key: 'user:1' })),
        'scaleout get (l1: false), connection from a URL': many(() => scaleoutOwned.get('user:1')),
        'scaleout get (l1: false), your ioredis client': many(() => scaleoutL2.get('user:1')),
      },
      { baseline: 'ioredis GET + JSON.parse', rounds: 9, opsPerCall: batch },
    );
    await ctx.cpuPerOp(
      `Redis tier: get (no L1), ${batch} in flight: CPU per get, client + redis-server`,
      {
        'cache-manager get (@keyv/redis)': many(() => managerRedis.get('user:1')),
        'bentocache get (L2 only)': many(() => bentoRedis.get({ key: 'user:1' })),
        'scaleout get (l1: false), connection from a URL': many(() => scaleoutOwned.get('user:1')),
        'scaleout get (l1: false), your ioredis client': many(() => scaleoutL2.get('user:1')),
      },
      { serverCpuUs: () => redisCpuUs(redis), opsPerCall: batch },
    );

    // The same path without the network, so that noise cannot hide the cost
    // the cache adds around one adapter read (header, safe deserializer,
    // operation timeout, circuit).
    const memory = memoryCacheAdapter();
    const scaleoutNoL1 = new DistributedCache({ adapter: memory, l1: false, defaultTtlMs: HOUR });
    await scaleoutNoL1.set('user:1', user);
    await memory.set('raw', text);
    await ctx.compare(
      'Cost added around one adapter read (memory adapter, no L1)',
      {
        'adapter.get + JSON.parse': async () => JSON.parse((await memory.get('raw'))!),
        'scaleout get (l1: false)': () => scaleoutNoL1.get('user:1'),
      },
      { baseline: 'adapter.get + JSON.parse' },
    );

    // ---- cross-process cold-key stampede -------------------------------------
    const processes = 4;
    const callers = ctx.quick ? 20 : 50;
    const rows: Array<Record<string, string | number>> = [];
    for (const library of ['cache-manager', 'bentocache', 'scaleout']) {
      const calls = await stampede(library, server.url, processes, callers);
      rows.push({ library, processes, 'callers per process': callers, 'loader calls': calls });
    }
    ctx.note('Cold-key stampede across processes: loader calls (fewer is better, 1 is ideal)', rows);

    await Promise.all([scaleout.close(), scaleoutL2.close(), scaleoutOwned.close(), scaleoutNoL1.close()]);
    await Promise.all([
      scaleout.adapter.close(),
      scaleoutL2.adapter.close(),
      scaleoutOwned.adapter.close(),
      memory.close(),
      bentoMemory.disconnectAll(),
      bentoRedis.disconnectAll(),
      managerMemory.disconnect(),
      managerRedis.disconnect(),
    ]);
  } finally {
    await server.stop();
  }
}
