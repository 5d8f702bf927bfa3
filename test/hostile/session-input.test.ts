/**
 * Property tests: hostile input to every public entry of the sessions
 * (SessionStore's constructor and methods, on the memory adapter and on a
 * real redis-server; the memory and Redis session adapters called
 * directly; expressSessionStore and its Store methods) gets a value or a
 * typed ScaleoutError with a code: never a raw TypeError, a crash, a hang
 * or an unhandled rejection. Unknown option keys are always refused; what
 * is stored reads back as what was given (data JSON would change is refused
 * with ERR_SERIALIZE); good sessions are unaffected.
 */
import session from 'express-session';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemorySessionAdapter } from '../../src/adapters/memory/memory-session-adapter.js';
import { RedisSessionAdapter } from '../../src/adapters/redis/session.js';
import type { SessionAdapter } from '../../src/contracts/session.js';
import { isScaleoutError } from '../../src/errors.js';
import { assertFaithful } from '../../src/internal/faithful.js';
import { expressSessionStore } from '../../src/session/express-session-store.js';
import { generateSessionId } from '../../src/session/session-id.js';
import { SessionStore } from '../../src/session/session-store.js';
import { deleteKeysWithPrefix, uniquePrefix } from '../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import {
  hostileKey,
  hostileLeaf,
  hostileOptions,
  hostileValue,
  loneSurrogateString,
  outcomeOf,
  Tally,
  unknownKeys,
} from './arbitraries.js';

const STORE_KEYS = ['adapter', 'ttlMs', 'serializer', 'maxUpdateRetries', 'maxUserIdLength', 'maxDataBytes'];
const RUNS = Number(process.env.HOSTILE_RUNS ?? 300);
const tally = new Tally();

function run<T extends [unknown, ...unknown[]]>(property: fc.IAsyncPropertyWithHooks<T>, numRuns = RUNS) {
  return fc.assert(property, { numRuns });
}

/** Session ids: hostile values, near-misses of real ids, globs, control characters. */
function hostileId(real: string): fc.Arbitrary<unknown> {
  return fc.oneof(
    hostileValue,
    fc.string({ minLength: 43, maxLength: 43 }),
    fc.nat(42).map((i) => `${real.slice(0, i)}*${real.slice(i + 1)}`),
    fc.constantFrom(
      real,
      `${real} `,
      `${real}\u0000`,
      real.toUpperCase(),
      '*',
      '?',
      '[a-z]',
      `../${real}`,
      generateSessionId(),
    ),
  );
}

let redis: RedisServer;
const prefix = uniquePrefix('hostile-session');

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await deleteKeysWithPrefix(redis.client(), prefix);
  await redis.stop();
  console.log(`[hostile session-input] ${tally.total()} inputs: ${JSON.stringify(tally)}`);
});

describe('SessionStore construction and adapter factories', () => {
  it('hostile options: a store or ERR_INVALID_OPTIONS; unknown keys always refused', async () => {
    await run(
      fc.asyncProperty(
        hostileOptions(STORE_KEYS, {}, ['ttl', 'sessionTTL', 'client', 'maxBytes']),
        hostileOptions(['maxSessions', 'clock'], {}, ['max']),
        hostileOptions(['connection', 'prefix', 'clock'], { connection: redis.url }, ['client', 'keyPrefix']),
        async (storeOptions, memoryOptions, redisOptions) => {
          tally.count('SessionStore constructor');
          const outcome = await outcomeOf(() => new SessionStore(storeOptions as never));
          if (unknownKeys(storeOptions, STORE_KEYS).length > 0) expect(outcome).toBe('ERR_INVALID_OPTIONS');
          if (outcome !== 'ok') expect(outcome).toBe('ERR_INVALID_OPTIONS');
          tally.count('memorySessionAdapter');
          const memory = await outcomeOf(() => new MemorySessionAdapter(memoryOptions as never));
          if (unknownKeys(memoryOptions, ['maxSessions', 'clock']).length > 0)
            expect(memory).toBe('ERR_INVALID_OPTIONS');
          if (unknownKeys(redisOptions, ['connection', 'prefix', 'clock']).length > 0) {
            tally.count('redisSessionAdapter');
            expect(await outcomeOf(() => new RedisSessionAdapter(redisOptions as never))).toBe(
              'ERR_INVALID_OPTIONS',
            );
          }
        },
      ),
    );
  });
});

const adapters: Array<[string, () => SessionAdapter]> = [
  ['memory', () => new MemorySessionAdapter()],
  ['redis', () => new RedisSessionAdapter({ connection: redis.client(), prefix })],
];

describe.each(adapters)('SessionStore on %s', (name, makeAdapter) => {
  let store: SessionStore<unknown>;
  let adapter: SessionAdapter;
  let good: { id: string; data: unknown };

  beforeAll(async () => {
    adapter = makeAdapter();
    store = new SessionStore<unknown>({ adapter, maxDataBytes: 200_000 });
    const s = await store.create({ cart: ['sku-1'] }, { userId: 'good-user' });
    good = { id: s.id, data: s.data };
  });
  afterAll(async () => {
    // Good sessions are unaffected by everything the properties did.
    expect((await store.get(good.id))?.data).toEqual(good.data);
    await store.close();
  });

  it('create: hostile data and options; what is stored reads back as it was written', async () => {
    await run(
      fc.asyncProperty(
        fc.oneof(hostileValue, fc.dictionary(hostileKey, hostileValue, { maxKeys: 4 })),
        hostileOptions(['userId', 'ttlMs'], {}, ['ttl', 'user', 'id']),
        async (data, options) => {
          tally.count(`create (${name})`);
          let made: { id: string } | undefined;
          const outcome = await outcomeOf(() =>
            store.create(data, options as never).then((s) => {
              made = s;
            }),
          );
          if (unknownKeys(options, ['userId', 'ttlMs']).length > 0)
            expect(outcome).toBe('ERR_INVALID_OPTIONS');
          if (outcome === 'ok') {
            const read = await store.get(made!.id);
            expect(read?.data).toEqual(JSON.parse(JSON.stringify(data)));
            assertFaithful(data, read?.data, 'session');
            await store.destroy(made!.id);
          }
        },
      ),
    );
  });

  it('get, touch, destroy, regenerate: hostile ids read as no session or a typed error', async () => {
    await run(
      fc.asyncProperty(
        hostileId(good.id),
        fc.constantFrom('get', 'touch', 'destroy', 'regenerate'),
        async (id, op) => {
          tally.count(`${op} (${name})`);
          if (id === good.id && (op === 'destroy' || op === 'regenerate')) return; // that is a real operation
          const outcome = await outcomeOf(() =>
            (store as unknown as Record<string, (id: unknown) => Promise<unknown>>)[op]!(id),
          );
          expect(outcome).toBe('ok');
        },
      ),
    );
  });

  it('update: hostile ids, data, merge results and options', async () => {
    const target = await store.create({ n: 0 });
    await run(
      fc.asyncProperty(
        fc.oneof(hostileId(target.id), fc.constant(target.id)),
        fc.oneof(
          hostileValue,
          fc.constant(null).map(() => (current: unknown) => current),
        ),
        fc.oneof(fc.constant(undefined), hostileOptions(['expectedVersion'], {}, ['version'])),
        async (id, dataOrMerge, options) => {
          tally.count(`update (${name})`);
          const outcome = await outcomeOf(() =>
            store.update(id as string, dataOrMerge as never, options as never),
          );
          if (options !== undefined && unknownKeys(options, ['expectedVersion']).length > 0) {
            expect(outcome).toBe('ERR_INVALID_OPTIONS');
          }
        },
      ),
    );
    expect(await store.get(target.id)).toBeDefined();
  });

  it('destroyAllForUser: hostile user ids', async () => {
    await run(
      fc.asyncProperty(hostileValue, async (userId) => {
        tally.count(`destroyAllForUser (${name})`);
        if (userId === 'good-user') return;
        const outcome = await outcomeOf(() => store.destroyAllForUser(userId as never));
        expect(['ok', 'ERR_INVALID_ARGUMENT']).toContain(outcome);
      }),
    );
  });

  it('user ids with a lone surrogate are refused (on Redis they would share one key)', async () => {
    await run(
      fc.asyncProperty(
        loneSurrogateString,
        fc.constantFrom('create', 'destroyAllForUser'),
        async (userId, op) => {
          tally.count(`lone surrogate userId (${name})`);
          const outcome = await outcomeOf(() =>
            op === 'create' ? store.create({ n: 1 }, { userId }) : store.destroyAllForUser(userId),
          );
          expect(outcome).toBe('ERR_INVALID_ARGUMENT');
        },
      ),
    );
  });

  it("'u\\ud800', 'u\\udfff' and 'u\\ufffd' are never one user: the first two are refused", async () => {
    const victim = await store.create({ who: 'victim' }, { userId: 'u\ufffd' });
    for (const userId of ['u\ud800', 'u\udfff']) {
      await expect(store.create({ who: 'attacker' }, { userId })).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
        argument: 'userId',
      });
      await expect(store.destroyAllForUser(userId)).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
        argument: 'userId',
      });
    }
    expect((await store.get(victim.id))?.userId).toBe('u\ufffd');
    expect(await store.destroyAllForUser('u\ufffd')).toBe(1);
  });

  it('the adapter called directly: hostile input is a typed error', async () => {
    const input = fc.oneof(
      hostileValue,
      fc.record(
        {
          id: hostileId(good.id),
          newId: hostileId(good.id),
          data: hostileValue,
          userId: hostileValue,
          ttlMs: hostileLeaf,
          expectedVersion: hostileLeaf,
        },
        { requiredKeys: [] },
      ),
    );
    await run(
      fc.asyncProperty(
        fc.constantFrom('create', 'get', 'touch', 'update', 'move', 'destroy', 'destroyAllForUser'),
        input,
        async (op, arg) => {
          tally.count(`adapter.${op} (${name})`);
          // Destructive calls on the good session are real operations, not hostile input.
          const mentionsGood =
            arg === good.id ||
            (typeof arg === 'object' && arg !== null && Object.values(arg).some((v) => v === good.id));
          if (
            mentionsGood ||
            (typeof arg === 'object' && arg !== null && 'userId' in arg && arg.userId === 'good-user')
          )
            return;
          await outcomeOf(() =>
            (adapter as unknown as Record<string, (a: unknown) => Promise<unknown>>)[op]!(arg),
          );
        },
      ),
    );
    // update's and touch's TTL: no input, a bare number or an unknown key is refused, typed.
    const call = adapter as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    expect(await outcomeOf(() => call.update!(undefined))).toBe('ERR_INVALID_ARGUMENT');
    expect(await outcomeOf(() => call.update!(null))).toBe('ERR_INVALID_ARGUMENT');
    expect(await outcomeOf(() => call.touch!('no-such-id', 5_000))).toBe('ERR_INVALID_OPTIONS');
    expect(await outcomeOf(() => call.touch!('no-such-id', { ttl: 5_000 }))).toBe('ERR_INVALID_OPTIONS');
    expect(await outcomeOf(() => call.touch!('no-such-id', { ttlMs: 0 }))).toBe('ERR_INVALID_ARGUMENT');
  });
});

describe('expressSessionStore', () => {
  it('construction: hostile module and options', async () => {
    const sessions = new SessionStore<unknown>();
    await run(
      fc.asyncProperty(
        fc.oneof(fc.constant(session), hostileValue),
        hostileOptions(['sessions', 'userIdField', 'ttlMs'], { sessions }, ['store', 'ttl']),
        async (mod, options) => {
          tally.count('expressSessionStore');
          const outcome = await outcomeOf(() => expressSessionStore(mod as never, options as never));
          if (mod === session && unknownKeys(options, ['sessions', 'userIdField', 'ttlMs']).length > 0) {
            expect(outcome).toBe('ERR_INVALID_OPTIONS');
          }
          if (outcome !== 'ok') expect(outcome).toBe('ERR_INVALID_OPTIONS');
        },
      ),
    );
  });

  it('get, set, touch, destroy: hostile sids, sessions and callbacks answer through the callback', async () => {
    const sessions = new SessionStore<unknown>({
      adapter: new RedisSessionAdapter({ connection: redis.client(), prefix: `${prefix}x:` }),
      maxDataBytes: 100_000,
    });
    const store = expressSessionStore(session, { sessions });
    const real = store.genid();
    await new Promise<void>((resolve) =>
      store.set(real, { cookie: { maxAge: 60_000 }, userId: 'u' }, () => resolve()),
    );
    const sessionValue = fc.oneof(
      hostileValue,
      fc
        .dictionary(hostileKey, hostileValue, { maxKeys: 4 })
        .map((extra) => ({ cookie: { maxAge: 60_000 }, ...extra })),
      fc.record({ cookie: hostileValue, userId: hostileValue }, { requiredKeys: [] }),
    );
    await run(
      fc.asyncProperty(
        fc.constantFrom('get', 'set', 'touch', 'destroy'),
        fc.oneof(
          hostileId(real),
          fc.constant(null).map(() => store.genid()),
        ),
        sessionValue,
        fc.boolean(),
        async (op, sid, value, withCallback) => {
          tally.count(`express store.${op}`);
          if (sid === real && op !== 'get') return;
          const answer = await new Promise<unknown>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error('hang: no callback')), 10_000);
            timer.unref();
            const cb = (err?: unknown) => {
              clearTimeout(timer);
              resolve(err ?? 'ok');
            };
            const s = store as unknown as Record<string, (...a: unknown[]) => void>;
            if (!withCallback) {
              // No callback at all (allowed for set/touch/destroy): nothing may escape.
              if (op !== 'get') {
                s[op]!(sid, value);
                clearTimeout(timer);
                resolve('ok');
                return;
              }
            }
            if (op === 'get' || op === 'destroy') s[op]!(sid, cb);
            else s[op]!(sid, value, cb);
          });
          if (answer !== 'ok') expect(isScaleoutError(answer), String(answer)).toBe(true);
        },
      ),
    );
    const read = await new Promise<unknown>((resolve) => store.get(real, (_err, v) => resolve(v)));
    expect(read).toMatchObject({ userId: 'u' });
    await sessions.close();
  });
});
