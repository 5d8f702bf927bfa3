/**
 * The back ends every part of the order flow shares: memory adapters with no
 * environment, real Redis with REDIS_URL, real RabbitMQ with AMQP_URL.
 */
import {
  type CacheAdapter,
  DistributedLock,
  type IdempotencyStore,
  type JwtDenylistAdapter,
  type LockAdapter,
  MessageQueue,
  memoryCacheAdapter,
  memoryIdempotencyStore,
  memoryJwtDenylist,
  memoryQueueAdapter,
  memoryRateLimitAdapter,
  memoryRegistryAdapter,
  type QueueAdapter,
  type RateLimitAdapter,
  type RegistryAdapter,
  type SessionAdapter,
} from 'scaleout';

export interface Infra {
  /** Which back ends are in use, for the banner. */
  label: string;
  registryAdapter: RegistryAdapter;
  cacheAdapter: CacheAdapter;
  sessionAdapter: SessionAdapter | undefined;
  denylist: JwtDenylistAdapter;
  /** Where the gateway's per-customer order limits live. */
  rateLimitAdapter: RateLimitAdapter;
  queue: MessageQueue;
  /** The lock around stock updates (inventory). */
  locks: DistributedLock;
  /** Idempotency records the payment instances share: one charge per key, whichever instance gets the retry. */
  idempotencyStore: IdempotencyStore;
  close(): Promise<void>;
}

/** How many infrastructures this process created (names its RabbitMQ queues). */
let created = 0;

export async function createInfra(env = process.env): Promise<Infra> {
  created++;
  const run = `order-flow:${process.pid}:${Date.now()}:`;
  const closers: Array<() => Promise<unknown> | unknown> = [];
  let queueAdapter: QueueAdapter = memoryQueueAdapter();
  let label = 'memory adapters';
  const infra = {
    registryAdapter: memoryRegistryAdapter() as RegistryAdapter,
    cacheAdapter: memoryCacheAdapter() as CacheAdapter,
    sessionAdapter: undefined as SessionAdapter | undefined,
    denylist: memoryJwtDenylist() as JwtDenylistAdapter,
    rateLimitAdapter: memoryRateLimitAdapter() as RateLimitAdapter,
    lockAdapter: undefined as LockAdapter | undefined,
    idempotencyStore: memoryIdempotencyStore() as IdempotencyStore,
  };
  if (env.REDIS_URL) {
    const redis = await import('scaleout/redis');
    const connection = env.REDIS_URL;
    infra.registryAdapter = redis.redisRegistryAdapter({ connection, prefix: `${run}reg:` });
    infra.cacheAdapter = redis.redisCacheAdapter({ connection, prefix: `${run}cache:` });
    infra.sessionAdapter = redis.redisSessionAdapter({ connection, prefix: `${run}sess:` });
    infra.lockAdapter = redis.redisLockAdapter({ connection, prefix: `${run}lock:` });
    closers.push(() => infra.lockAdapter?.close());
    infra.denylist = redis.redisJwtDenylist({ connection, prefix: `${run}deny:` });
    infra.rateLimitAdapter = redis.redisRateLimitAdapter({ connection, prefix: `${run}rl:` });
    infra.idempotencyStore = redis.redisIdempotencyStore({ connection, prefix: `${run}idem:` });
    if (!env.AMQP_URL) {
      // Events go to RabbitMQ when AMQP_URL is set, else to Redis Streams.
      queueAdapter = redis.redisStreamsQueueAdapter({ connection, prefix: `${run}q:`, sweepIntervalMs: 100 });
    }
    label = 'Redis';
  }
  if (env.AMQP_URL) {
    const { amqpQueueAdapter } = await import('scaleout/amqp');
    queueAdapter = amqpQueueAdapter({
      url: env.AMQP_URL,
      // Named after the process and the how-manieth infrastructure: the
      // smoke test removes them from the broker afterwards.
      prefix: `order-flow-${process.pid}-${created}.`,
    });
    label = env.REDIS_URL ? 'Redis + RabbitMQ' : 'RabbitMQ';
  }
  // A primitive closes only the adapters it created: every adapter made here
  // is ours to close, after the primitives using it. Closing twice is harmless.
  closers.push(
    () => queueAdapter.close(),
    () => infra.cacheAdapter.close(),
    () => infra.registryAdapter.close(),
    () => infra.denylist.close(),
    () => infra.rateLimitAdapter.close(),
    () => infra.sessionAdapter?.close?.(),
    () => infra.idempotencyStore.close(),
  );
  const locks = new DistributedLock({ adapter: infra.lockAdapter, ttlMs: 5_000 });
  const queue = new MessageQueue({ adapter: queueAdapter, retryBaseMs: 20, retryMaxMs: 200 });
  return {
    ...infra,
    label,
    queue,
    locks,
    async close() {
      await queue.close();
      await locks.close();
      for (const close of closers) await close();
    },
  };
}
