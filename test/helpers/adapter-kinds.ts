import { afterAll, afterEach, beforeAll } from 'vitest';
import { deleteKeysWithPrefix, uniquePrefix } from './keys.js';
import { type RedisServer, startRedisServer } from './redis-server.js';

/** What {@link adapterKinds} hands a test file. */
export interface AdapterKinds<A> {
  /** The kinds to run a scenario on (`describe.each(kinds)`). */
  readonly kinds: readonly ['memory', 'redis'];
  /**
   * A new adapter of `kind`, closed after the test; a Redis one gets a
   * prefix of its own whose keys are deleted after it is closed.
   */
  open(kind: string): A;
  /** Runs each cleanup after the test, last registered first. */
  afterTest(...cleanup: Array<() => Promise<unknown>>): void;
}

/**
 * For a file that runs one scenario on a memory adapter and on a Redis
 * adapter: starts a redis-server for the file and returns a factory per
 * kind. Call at module level (it registers the file's hooks).
 */
export function adapterKinds<A extends { close(): Promise<void> }>(
  name: string,
  make: { memory: () => A; redis: (url: string, prefix: string) => A },
): AdapterKinds<A> {
  let redis: RedisServer | undefined;
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
  return {
    kinds: ['memory', 'redis'],
    open(kind) {
      let adapter: A;
      if (kind === 'memory') {
        adapter = make.memory();
      } else {
        const server = redis!;
        const prefix = uniquePrefix(name);
        cleanups.push(() => deleteKeysWithPrefix(server.client(), prefix));
        adapter = make.redis(server.url, prefix);
      }
      cleanups.push(() => adapter.close());
      return adapter;
    },
    afterTest(...cleanup) {
      cleanups.push(...cleanup);
    },
  };
}
