/**
 * A separate OS process running one DistributedCache on a real Redis, driven
 * by its parent over IPC. Used by the cross-process cache tests.
 *
 * argv: <redisUrl> <prefix>
 * messages in:  { cmd: 'stampede', key, callers, loaderMs } | { cmd: 'get', key }
 *                | { cmd: 'getOrSet', key, value } | { cmd: 'close' }
 * messages out: { type: 'ready' } | { type: 'stampede', values } | { type: 'get' | 'getOrSet', value }
 *                | { type: 'error', message }
 */
import { Redis } from 'ioredis';
import { redisCacheAdapter } from '../../../src/adapters/redis/cache.js';
import { DistributedCache } from '../../../src/cache/index.js';

const [url, prefix] = process.argv.slice(2) as [string, string];
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

type Message =
  | { cmd: 'stampede'; key: string; callers: number; loaderMs: number }
  | { cmd: 'get'; key: string }
  | { cmd: 'getOrSet'; key: string; value: unknown }
  | { cmd: 'close' };

const send = (message: unknown) => process.send?.(message);

process.on('message', async (message: Message) => {
  try {
    if (message.cmd === 'stampede') {
      const loader = async () => {
        await counter.incr(`${prefix}loader-calls`);
        await new Promise((resolve) => setTimeout(resolve, message.loaderMs));
        return { loadedBy: process.pid, at: Date.now() };
      };
      const values = await Promise.all(
        Array.from({ length: message.callers }, () => cache.getOrSet(message.key, loader)),
      );
      send({ type: 'stampede', values });
    } else if (message.cmd === 'get') {
      send({ type: 'get', value: (await cache.get(message.key)) ?? null });
    } else if (message.cmd === 'getOrSet') {
      send({ type: 'getOrSet', value: await cache.getOrSet(message.key, () => message.value) });
    } else if (message.cmd === 'close') {
      await cache.close();
      connection.disconnect();
      counter.disconnect();
      process.disconnect?.();
    }
  } catch (err) {
    send({ type: 'error', message: String(err) });
  }
});

cache.ready().then(
  () => send({ type: 'ready' }),
  (err) => send({ type: 'error', message: String(err) }),
);
