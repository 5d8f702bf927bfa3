/**
 * A separate OS process running one DistributedCache on a real Redis, driven
 * by its parent through the worker harness (test/helpers/workers.ts). Used by
 * the cross-process cache tests. It reports ready once its cache is ready,
 * answers each command with a reply of the same name, and returns
 * `{ closed: true }` after `close`.
 * Env: REDIS_URL, PREFIX.
 */
import { Redis } from 'ioredis';
import { redisCacheAdapter } from '../../../src/adapters/redis/cache.js';
import { DistributedCache } from '../../../src/cache/index.js';
import { workerMain } from '../../helpers/worker-main.js';

/** What the parent asks. */
export type CacheCommand =
  | { cmd: 'stampede'; key: string; callers: number; loaderMs: number }
  | { cmd: 'get'; key: string }
  | { cmd: 'getOrSet'; key: string; value: unknown }
  | { cmd: 'close' };

/** A value loaded by a stampede's loader. */
export interface Loaded {
  loadedBy: number;
  at: number;
}

/** What the worker answers. */
export type CacheReply =
  | { type: 'stampede'; values: Loaded[] }
  | { type: 'get'; value: unknown }
  | { type: 'getOrSet'; value: unknown };

const url = process.env.REDIS_URL!;
const prefix = process.env.PREFIX!;
const connection = new Redis(url);
const counter = new Redis(url);
const cache = new DistributedCache({
  adapter: redisCacheAdapter({ connection, prefix }),
  l1TtlMs: 600_000,
  defaultTtlMs: 600_000,
  hardTimeoutMs: 20_000,
  lockTtlMs: 20_000,
  operationTimeoutMs: 10_000,
});
await cache.ready();

workerMain<{ closed: true }, CacheCommand, CacheReply>(async (_payload, channel) => {
  for (;;) {
    const message = await channel.receive();
    if (message.cmd === 'stampede') {
      const loader = async (): Promise<Loaded> => {
        await counter.incr(`${prefix}loader-calls`);
        await new Promise((resolve) => setTimeout(resolve, message.loaderMs));
        return { loadedBy: process.pid, at: Date.now() };
      };
      const values = await Promise.all(
        Array.from({ length: message.callers }, () => cache.getOrSet(message.key, loader)),
      );
      channel.send({ type: 'stampede', values });
    } else if (message.cmd === 'get') {
      channel.send({ type: 'get', value: (await cache.get(message.key)) ?? null });
    } else if (message.cmd === 'getOrSet') {
      channel.send({ type: 'getOrSet', value: await cache.getOrSet(message.key, () => message.value) });
    } else {
      await cache.close();
      await cache.adapter.close();
      connection.disconnect();
      counter.disconnect();
      return { closed: true };
    }
  }
});
