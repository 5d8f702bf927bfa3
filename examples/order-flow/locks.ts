/**
 * The lock around stock updates. The inventory service only needs
 * `withLock(resource, fn)` handing `fn` a lease with a fencing token: the
 * shape of `DistributedLock` from `scaleout`.
 */

/** The part of `DistributedLock` the inventory service calls. */
export interface OrderLocks {
  withLock<T>(resource: string, fn: (lease: { fencingToken: number }) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * One process, one queue of holders per resource, a counter per resource as
 * the fencing token.
 */
export function processLocks(): OrderLocks {
  const tails = new Map<string, Promise<unknown>>();
  const tokens = new Map<string, number>();
  return {
    async withLock(resource, fn) {
      const before = tails.get(resource) ?? Promise.resolve();
      let done!: () => void;
      const mine = new Promise<void>((resolve) => {
        done = resolve;
      });
      tails.set(resource, mine);
      await before;
      const fencingToken = (tokens.get(resource) ?? 0) + 1;
      tokens.set(resource, fencingToken);
      try {
        return await fn({ fencingToken });
      } finally {
        if (tails.get(resource) === mine) tails.delete(resource);
        done();
      }
    },
    async close() {},
  };
}
