/**
 * Property tests: hostile input to every public entry of DistributedLock
 * and DistributedSemaphore (constructor, acquire, tryAcquire, withLock,
 * release in both shapes, extend, on/off) and of the lock adapter factories
 * (memoryLockAdapter, redisLockAdapter, redlockAdapter) gets a value or a
 * typed ScaleoutError with a code: never a raw TypeError, a crash, a hang or
 * an unhandled rejection. Unknown option keys and non-objects where options
 * go are always refused with ERR_INVALID_OPTIONS. Whatever was granted
 * excludes a second holder (another instance, another connection) until
 * released.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryLockAdapter } from '../../src/adapters/memory/memory-lock-adapter.js';
import { redisLockAdapter } from '../../src/adapters/redis/lock.js';
import { redlockAdapter } from '../../src/adapters/redis/redlock.js';
import { isWellFormed } from '../../src/internal/validate.js';
import { DistributedLock, DistributedSemaphore, type Lease } from '../../src/lock/index.js';
import { uniquePrefix } from '../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { loneSurrogateString } from './arbitraries.js';
import {
  hostileLeaf,
  hostileOptions,
  hostileString,
  hostileValue,
  notAnOptionsObject,
  outcomeOf,
  Tally,
  unknownKeys,
  watchUnhandled,
} from './cache-lock-hostile.js';

const RUNS = 150;
const tally = new Tally();
const LOCK_KEYS = [
  'adapter',
  'ttlMs',
  'waitMs',
  'driftFactor',
  'retryMinMs',
  'retryMaxMs',
  'operationTimeoutMs',
  'logger',
  'clock',
];
const ACQUIRE_KEYS = ['ttlMs', 'waitMs', 'signal'];
const WITH_LOCK_KEYS = [...ACQUIRE_KEYS, 'autoExtend'];
const TYPOS = ['ttl', 'timeout', 'wait', 'retries', 'retryCount', 'lockPrefix', 'cache', 'autoextend'];
const ALLOWED = new Set([
  'ok',
  'ERR_INVALID_ARGUMENT',
  'ERR_INVALID_OPTIONS',
  'ERR_LOCK_NOT_ACQUIRED',
  'ERR_ABORTED',
]);

let serial = 0;
/** A resource: hostile strings and values, or a fresh one (runs do not collide). */
const resourceArb = fc.oneof(
  { weight: 1, arbitrary: hostileString },
  { weight: 1, arbitrary: hostileLeaf },
  { weight: 3, arbitrary: hostileString.map((s) => `${++serial}:${s}`) },
);

/** A valid resource: what keyArgument accepts. */
function validResource(value: unknown): value is string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: a valid resource has none
  const control = /[\u0000-\u001f\u007f]/;
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    value.length <= 1024 &&
    !control.test(value) &&
    isWellFormed(value)
  );
}

/** A signal option: hostile values, a live signal, an aborted one. */
const signalArb = fc.oneof(
  hostileValue,
  fc.constant(null).map(() => new AbortController().signal),
  fc.constant(null).map(() => AbortSignal.abort()),
);

describe('hostile input: DistributedLock, DistributedSemaphore and the lock adapter factories', () => {
  let server: RedisServer;
  let prefix: string;
  let locks: DistributedLock;
  let rival: DistributedLock;
  let sem: DistributedSemaphore;
  let memory: DistributedLock;
  let unhandled: ReturnType<typeof watchUnhandled>;

  beforeAll(async () => {
    unhandled = watchUnhandled();
    server = await startRedisServer();
    prefix = uniquePrefix('hostile-lock');
    // Two "processes" with their own connections, on one Redis.
    locks = new DistributedLock({
      adapter: redisLockAdapter({ connection: server.url, prefix }),
      waitMs: 50,
    });
    rival = new DistributedLock({ adapter: redisLockAdapter({ connection: server.url, prefix }), waitMs: 0 });
    sem = new DistributedSemaphore({
      adapter: redisLockAdapter({ connection: server.url, prefix }),
      limit: 2,
    });
    memory = new DistributedLock({ waitMs: 50 });
  });

  afterAll(async () => {
    for (const l of [locks, rival, sem, memory]) {
      await l?.close();
      await l?.adapter.close();
    }
    await server?.stop();
    const seen = unhandled.stop();
    console.info(`lock hostile inputs tried: ${JSON.stringify(tally.toJSON())} (total ${tally.total()})`);
    expect(seen).toEqual([]);
  });

  it('new DistributedLock / DistributedSemaphore(options): typed refusals; what is accepted works', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        hostileOptions([...LOCK_KEYS, 'limit'], TYPOS),
        async (semaphore, options) => {
          tally.count(semaphore ? 'new DistributedSemaphore' : 'new DistributedLock');
          let made: DistributedLock | DistributedSemaphore | undefined;
          const outcome = await outcomeOf(() => {
            made = semaphore
              ? new DistributedSemaphore(options as never)
              : new DistributedLock(options as never);
          });
          const known = semaphore ? [...LOCK_KEYS, 'limit'] : LOCK_KEYS;
          if (unknownKeys(options, known).length > 0 || notAnOptionsObject(options)) {
            expect(outcome).toBe('ERR_INVALID_OPTIONS');
          } else expect(['ok', 'ERR_INVALID_OPTIONS']).toContain(outcome);
          if (made !== undefined) {
            const lease = await made.tryAcquire('ctor-check', { ttlMs: 1000 }).catch((e) => e);
            expect(lease === null || typeof (lease as Lease).fencingToken === 'number').toBe(true);
            await made.close();
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('memoryLockAdapter / redisLockAdapter / redlockAdapter(options)', async () => {
    await fc.assert(
      fc.asyncProperty(
        hostileOptions(['clock'], ['now']),
        hostileOptions(['prefix', 'fenceTtlMs', 'fencing'], ['client', 'lockPrefix']),
        hostileOptions(
          ['prefix', 'driftFactor', 'instanceTimeoutMs', 'fenceTtlMs'],
          ['connection', 'retryCount'],
        ),
        fc.constantFrom('client', 'url', 'none', 'hostile'),
        hostileValue,
        async (memoryOptions, redisOptions, redlockOptions, connectionKind, hostileConnection) => {
          tally.count('memoryLockAdapter');
          tally.count('redisLockAdapter');
          tally.count('redlockAdapter');
          const a = await outcomeOf(async () => {
            const adapter = memoryLockAdapter(memoryOptions as never);
            await adapter.acquire({ resource: 'r', token: 't', ttlMs: 100, limit: 1 });
            await adapter.close();
          });
          if (unknownKeys(memoryOptions, ['clock']).length > 0 || notAnOptionsObject(memoryOptions)) {
            expect(a).toBe('ERR_INVALID_OPTIONS');
          } else expect(['ok', 'ERR_INVALID_OPTIONS']).toContain(a);
          // Connections stay on the loopback test server (hostile ones are not connectable values).
          const connectable = typeof hostileConnection === 'object' && hostileConnection !== null;
          const connection =
            connectionKind === 'client'
              ? server.client()
              : connectionKind === 'url'
                ? server.url
                : connectionKind === 'hostile' && !connectable
                  ? hostileConnection
                  : undefined;
          const withConnection = (options: unknown, key: string, value: unknown) =>
            typeof options === 'object' && options !== null && !notAnOptionsObject(options)
              ? { ...options, ...(value === undefined ? {} : { [key]: value }) }
              : options;
          const redisFull = withConnection(redisOptions, 'connection', connection);
          const b = await outcomeOf(async () => {
            const adapter = redisLockAdapter(redisFull as never);
            try {
              await adapter.acquire({ resource: 'r', token: `t${serial++}`, ttlMs: 100, limit: 1 });
            } finally {
              await adapter.close();
            }
          });
          if (
            unknownKeys(redisFull, ['connection', 'prefix', 'fenceTtlMs', 'fencing']).length > 0 ||
            notAnOptionsObject(redisFull)
          ) {
            expect(b).toBe('ERR_INVALID_OPTIONS');
          } else expect(['ok', 'ERR_INVALID_OPTIONS']).toContain(b);
          const connections =
            connectionKind === 'hostile'
              ? connectable
                ? [1, 'x', null]
                : hostileConnection
              : [server.url, `${server.url}/1`, `${server.url}/2`];
          const redlockFull = withConnection(redlockOptions, 'connections', connections);
          const c = await outcomeOf(async () => {
            const adapter = redlockAdapter(redlockFull as never);
            try {
              await adapter.acquire({ resource: 'r', token: `t${serial++}`, ttlMs: 1000, limit: 1 });
            } finally {
              await adapter.close();
            }
          });
          expect(['ok', 'ERR_INVALID_OPTIONS', 'ERR_INVALID_ARGUMENT', 'ERR_CONNECTION']).toContain(c);
          if (
            unknownKeys(redlockFull, [
              'connections',
              'prefix',
              'driftFactor',
              'instanceTimeoutMs',
              'fenceTtlMs',
            ]).length > 0 ||
            notAnOptionsObject(redlockFull)
          ) {
            expect(c).toBe('ERR_INVALID_OPTIONS');
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('acquire / tryAcquire / withLock: typed outcomes; a grant excludes another holder until released', async () => {
    const SENTINEL = new Error('the work failed');
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('acquire', 'tryAcquire', 'withLock'),
        resourceArb,
        hostileOptions(WITH_LOCK_KEYS, TYPOS),
        fc.oneof(signalArb, fc.constant(undefined)),
        fc.oneof(
          hostileValue,
          fc.constant((lease: Lease) => lease.fencingToken),
          fc.constant(() => {
            throw SENTINEL;
          }),
        ),
        async (method, resource, rawOptions, signal, fn) => {
          tally.count(`lock.${method}`);
          const options =
            signal !== undefined &&
            typeof rawOptions === 'object' &&
            rawOptions !== null &&
            !notAnOptionsObject(rawOptions)
              ? { ...rawOptions, signal }
              : rawOptions;
          let lease: Lease | null = null;
          let excluded: boolean | undefined;
          const outcome = await outcomeOf(async () => {
            if (method === 'acquire') lease = await locks.acquire(resource as string, options as never);
            else if (method === 'tryAcquire')
              lease = await locks.tryAcquire(resource as string, options as never);
            else {
              const work =
                typeof fn === 'function'
                  ? async (l: Lease) => {
                      excluded = (await rival.tryAcquire(l.resource)) === null;
                      return (fn as (l: Lease) => unknown)(l);
                    }
                  : fn;
              await locks.withLock(resource as string, work as never, options as never).catch((err) => {
                if (err !== SENTINEL) throw err; // the work's own error, passed through as documented
              });
            }
          });
          expect(ALLOWED).toContain(outcome);
          const known =
            method === 'withLock'
              ? WITH_LOCK_KEYS
              : method === 'acquire'
                ? ACQUIRE_KEYS
                : ['ttlMs', 'signal'];
          if (
            validResource(resource) &&
            (notAnOptionsObject(rawOptions) || unknownKeys(rawOptions, known).length > 0)
          ) {
            expect(outcome).toBe('ERR_INVALID_OPTIONS');
          }
          if (excluded !== undefined) expect(excluded).toBe(true);
          const held = lease as Lease | null;
          if (held !== null) {
            expect(await rival.tryAcquire(held.resource)).toBeNull();
            expect(await locks.release(held)).toBe(true);
            const again = await rival.tryAcquire(held.resource);
            expect(again).not.toBeNull();
            await again!.release();
          }
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });

  it('release (both shapes) / extend: forged leases, ids and TTLs get typed errors, never free a hold', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(hostileValue, fc.constant('own'), fc.constant('other')),
        fc.oneof(hostileValue, fc.constant('own')),
        hostileLeaf,
        async (first, second, ttl) => {
          tally.count('lock.release');
          tally.count('lock.extend');
          const resource = `rel:${++serial}`;
          const own = (await locks.tryAcquire(resource, { ttlMs: 10_000 }))!;
          const other = (await memory.tryAcquire(resource, { ttlMs: 10_000 }))!;
          const pick = (v: unknown) => (v === 'own' ? own : v === 'other' ? other : v);
          const a = await outcomeOf(() =>
            second === undefined
              ? locks.release(pick(first) as never)
              : locks.release(pick(first) as never, pick(second) as never),
          );
          expect(['ok', 'ERR_INVALID_ARGUMENT']).toContain(a);
          const b = await outcomeOf(() => locks.extend(pick(first) as never, ttl as never));
          expect(['ok', 'ERR_INVALID_ARGUMENT']).toContain(b);
          // only the real owner's lease, in a shape that names it, freed the hold
          // (or its own extend to a TTL shorter than this check takes: then the hold ran out)
          const freed = (await rival.tryAcquire(resource)) !== null;
          const releasedOwn = own.released;
          const shortened = b === 'ok' && typeof ttl === 'number' && ttl < 5_000;
          if (!(shortened && freed)) expect(freed).toBe(releasedOwn);
          await own.release();
          await other.release();
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('resources with a lone surrogate are refused (on Redis they would share one key)', async () => {
    await fc.assert(
      fc.asyncProperty(
        loneSurrogateString,
        fc.constantFrom('acquire', 'tryAcquire', 'withLock', 'semaphore.acquire', 'semaphore.tryAcquire'),
        async (resource, op) => {
          tally.count(`lone surrogate ${op}`);
          const outcome = await outcomeOf(() => {
            if (op === 'acquire') return locks.acquire(resource);
            if (op === 'tryAcquire') return locks.tryAcquire(resource);
            if (op === 'withLock') return locks.withLock(resource, () => 1);
            return op === 'semaphore.acquire' ? sem.acquire(resource) : sem.tryAcquire(resource);
          });
          expect(outcome).toBe('ERR_INVALID_ARGUMENT');
        },
      ),
      { numRuns: RUNS },
    );
    // The two names that one Redis key would hold: neither is taken, so neither blocks the other.
    const held = await locks.tryAcquire('file:\ufffd');
    expect(held).not.toBeNull();
    await expect(rival.tryAcquire('file:\udfff')).rejects.toMatchObject({ argument: 'resource' });
    await held!.release();
  });

  it('semaphore acquire and on/off: typed outcomes, never more than limit holders', async () => {
    await fc.assert(
      fc.asyncProperty(
        resourceArb,
        hostileOptions(ACQUIRE_KEYS, TYPOS),
        fc.oneof(hostileString, hostileLeaf, fc.constantFrom('acquired', 'lost', 'error')),
        hostileValue,
        async (resource, options, event, listener) => {
          tally.count('semaphore.tryAcquire');
          tally.count('lock.on');
          const leases: Lease[] = [];
          for (let i = 0; i < 3; i++) {
            let lease: Lease | null = null;
            const outcome = await outcomeOf(async () => {
              lease = await sem.tryAcquire(resource as string, options as never);
            });
            expect(ALLOWED).toContain(outcome);
            if (lease !== null) leases.push(lease);
          }
          expect(leases.length).toBeLessThanOrEqual(2);
          for (const l of leases) await l.release();
          const on = await outcomeOf(() => locks.on(event as never, listener as never)());
          expect(['ok', 'ERR_INVALID_ARGUMENT']).toContain(on);
          if (typeof listener !== 'function') expect(on).toBe('ERR_INVALID_ARGUMENT');
          expect(['ok', 'ERR_INVALID_ARGUMENT']).toContain(
            await outcomeOf(() => locks.off(event as never, listener as never)),
          );
        },
      ),
      { numRuns: RUNS },
    );
  });
});
