/**
 * SessionStore and the express-session store against connect-redis (on
 * node-redis, which writes one tick's commands together) on the same local
 * redis-server: Redis commands per request, reads at 50 in flight and one
 * at a time, and CPU per read (client + redis-server). Runs the built
 * package (`npm run bench` builds first), as users do.
 */
import { RedisStore } from 'connect-redis';
import { createClient } from 'redis';
import { expressSessionStore } from '../dist/express.js';
import { SessionStore } from '../dist/index.js';
import { RedisSessionAdapter } from '../dist/redis.js';
import { startRedisServer } from '../test/helpers/redis-server.js';
import { type BenchContext, redisCpuUs } from './lib.js';

async function sessionBenches(ctx: BenchContext): Promise<void> {
  const server = await startRedisServer();
  const admin = server.client();
  const ioredis = server.client();
  const autoPipelined = server.client({ enableAutoPipelining: true });
  const nodeRedis = createClient({ url: server.url });
  await nodeRedis.connect();
  try {
    const Store = (await import('express-session')).default.Store;
    // A connection scaleout creates (from a URL): it writes one tick's
    // commands together. Beside it, SessionStores on connections a user
    // passes in: a plain ioredis client, and one with enableAutoPipelining.
    const sessions = new SessionStore<Record<string, unknown>>({
      adapter: new RedisSessionAdapter({ connection: server.url, prefix: 'bench:s:' }),
    });
    const onClient = new SessionStore<Record<string, unknown>>({
      adapter: new RedisSessionAdapter({ connection: ioredis, prefix: 'bench:s:' }),
    });
    const onPipelined = new SessionStore<Record<string, unknown>>({
      adapter: new RedisSessionAdapter({ connection: autoPipelined, prefix: 'bench:s:' }),
    });
    const expressStore = expressSessionStore({ Store }, { sessions });
    const connect = new RedisStore({ client: nodeRedis, prefix: 'bench:c:' });
    const data = {
      userId: 'user-1',
      cart: ['sku-1', 'sku-2'],
      cookie: { originalMaxAge: 86_400_000, httpOnly: true, path: '/' },
    };
    const ours = await sessions.create(data, { userId: 'user-1' });
    const connectSid = 'connect-redis-bench-session-id';
    await connect.set(connectSid, data as never);
    const expressSid = expressStore.genid();
    const cb = <T>(fn: (done: (err?: unknown, v?: T) => void) => void) =>
      new Promise<T | undefined>((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
    const connectGet = () => cb((done) => connect.get(connectSid, done as never));
    const connectTouch = () => cb((done) => connect.touch(connectSid, data as never, done as never));
    const connectSet = () => cb((done) => connect.set(connectSid, data as never, done as never));
    await cb((done) => expressStore.set(expressSid, data, done));
    const expressGet = () => cb((done) => expressStore.get(expressSid, done as never));
    const expressTouch = () => cb((done) => expressStore.touch(expressSid, data, done));
    const expressSet = () => cb((done) => expressStore.set(expressSid, data, done));

    // Round trips per operation: commands the server received from clients,
    // seen through MONITOR (commands run inside a Lua script are not round
    // trips and are left out).
    const monitor = await admin.monitor();
    let seen = 0;
    monitor.on('monitor', (_time: string, _args: string[], source: string) => {
      if (!String(source).includes('lua')) seen++;
    });
    const count = async (fn: () => Promise<unknown>, n = 200): Promise<number> => {
      await fn();
      await new Promise((r) => setTimeout(r, 100));
      seen = 0;
      for (let k = 0; k < n; k++) await fn();
      await new Promise((r) => setTimeout(r, 200));
      return seen / n;
    };
    const perRequest = async (fns: Array<() => Promise<unknown>>) =>
      count(async () => {
        for (const f of fns) await f();
      });
    ctx.note('Redis round trips per request (MONITOR, commands from clients only, 200 requests each)', [
      {
        flow: 'scaleout SessionStore.touch (read + slide TTL)',
        commands: await perRequest([() => sessions.touch(ours.id)]),
      },
      { flow: 'scaleout SessionStore.get', commands: await perRequest([() => sessions.get(ours.id)]) },
      {
        flow: 'express-session on scaleout store: get + touch (session unchanged)',
        commands: await perRequest([expressGet, expressTouch]),
      },
      {
        flow: 'express-session on connect-redis: get + touch (session unchanged)',
        commands: await perRequest([connectGet, connectTouch]),
      },
      {
        flow: 'express-session on scaleout store: get + set (session changed)',
        commands: await perRequest([expressGet, expressSet]),
      },
      {
        flow: 'express-session on connect-redis: get + set (session changed)',
        commands: await perRequest([connectGet, connectSet]),
      },
      {
        flow: 'scaleout SessionStore.update (merge, uncontended)',
        commands: await perRequest([() => sessions.update(ours.id, (d) => d)]),
      },
    ]);

    monitor.disconnect();
    const batch = 50;
    const many = (fn: () => Promise<unknown>) => () => Promise.all(Array.from({ length: batch }, fn));
    await ctx.compare(
      `session read per request, ${batch} concurrent (ops/s)`,
      {
        'connect-redis get': many(connectGet),
        'connect-redis get + touch (rolling)': many(() => connectGet().then(connectTouch)),
        'scaleout SessionStore.get': many(() => sessions.get(ours.id)),
        'scaleout SessionStore.touch (rolling)': many(() => sessions.touch(ours.id)),
        'scaleout express-session store get': many(expressGet),
        'scaleout SessionStore.get, your ioredis client': many(() => onClient.get(ours.id)),
        'scaleout SessionStore.get, your client with enableAutoPipelining': many(() =>
          onPipelined.get(ours.id),
        ),
      },
      { baseline: 'connect-redis get', rounds: 9, opsPerCall: batch },
    );
    await ctx.cpuPerOp(
      `session read per request, ${batch} concurrent: CPU per read, client + redis-server`,
      {
        'connect-redis get': many(connectGet),
        'scaleout SessionStore.get': many(() => sessions.get(ours.id)),
        'scaleout express-session store get': many(expressGet),
        'scaleout SessionStore.get, your ioredis client': many(() => onClient.get(ours.id)),
        'scaleout SessionStore.get, your client with enableAutoPipelining': many(() =>
          onPipelined.get(ours.id),
        ),
      },
      { serverCpuUs: () => redisCpuUs(admin), opsPerCall: batch },
    );
    await ctx.compare(
      'session read, one request at a time (ops/s)',
      {
        'connect-redis get': connectGet,
        'scaleout SessionStore.get': () => sessions.get(ours.id),
        'scaleout express-session store get': expressGet,
        'scaleout SessionStore.get, your ioredis client': () => onClient.get(ours.id),
        'scaleout SessionStore.get, your client with enableAutoPipelining': () => onPipelined.get(ours.id),
      },
      { baseline: 'connect-redis get', rounds: 9 },
    );
    await Promise.all([sessions.close(), onClient.close(), onPipelined.close()]);
    await sessions.adapter.close?.();
  } finally {
    await nodeRedis.quit();
    await server.stop();
  }
}

export default async function (ctx: BenchContext): Promise<void> {
  await sessionBenches(ctx);
}
