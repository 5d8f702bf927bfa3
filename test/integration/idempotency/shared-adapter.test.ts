import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { memoryIdempotencyStore } from '../../../src/adapters/memory/memory-idempotency-store.js';
import { redisIdempotencyStore } from '../../../src/adapters/redis/idempotency.js';
import type { IdempotencyStore } from '../../../src/contracts/idempotency.js';
import { Idempotency } from '../../../src/idempotency/idempotency.js';
import { deleteKeysWithPrefix, uniquePrefix } from '../../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const adapters: Record<string, () => IdempotencyStore> = {
  memory: () => memoryIdempotencyStore(),
  redis: () => {
    const prefix = uniquePrefix('idem-shared');
    cleanups.push(() => deleteKeysWithPrefix(redis.client(), prefix));
    return redisIdempotencyStore({ connection: redis.url, prefix });
  },
};

describe.each(Object.keys(adapters))('two Idempotency objects sharing one %s adapter', (kind) => {
  it.each(['first', 'second'])('closing the %s leaves the other and the adapter working', async (which) => {
    const adapter = adapters[kind]!();
    cleanups.push(() => adapter.close());
    const first = new Idempotency({ adapter });
    const second = new Idempotency({ adapter });
    expect(await first.run('charge:1', () => 'first')).toBe('first');
    const [closed, open] = which === 'first' ? [first, second] : [second, first];
    await closed.close();
    await expect(closed.run('charge:2', () => 'x')).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    // The survivor replays what the other kept and runs new keys: the adapter is still open.
    expect(await open.run('charge:1', () => 'again')).toBe('first');
    expect(await open.run('charge:2', () => 'second')).toBe('second');
    await open.close();
    expect(await new Idempotency({ adapter }).run('charge:2', () => 'third')).toBe('second');
  });
});
