import type {
  RegistryAdapter,
  RegistryChange,
  RegistryHeartbeatResult,
  RegistryLease,
  RegistryLeaseOptions,
  RegistryListResult,
  RegistryRecord,
  RegistryRegisterResult,
} from '../../contracts/registry.js';
import { ConnectionError, CorruptDataError, InvalidOptionsError, isScaleoutError } from '../../errors.js';
import { bindToCurrentContext } from '../../internal/async-context.js';
import { Lifecycle } from '../../internal/lifecycle.js';
import { clockOption, optionsChecker } from '../../internal/validate.js';
import { normaliseInstanceUrl, readRegistryLease } from '../../registry/record-validation.js';
import { jsonSerializer } from '../../serializer.js';
import { type Clock, type Subscription, systemClock } from '../../types.js';
import type { RedisClient, RedisConnection } from './connection.js';
import { RedisConnectionHandle, redisFailure } from './connection.js';
import { taggedKey, validatePrefix } from './keys.js';
import { defineRedisScript, type RedisScript, type ScriptArg } from './scripts.js';

/** Options of {@link redisRegistryAdapter}.
 *
 * @example
 * ```ts
 * const adapter = redisRegistryAdapter({ connection: redis, prefix: 'shop:' });
 * ```
 */
export interface RedisRegistryAdapterOptions {
  /** An ioredis client (reused, not closed), a `redis://` URL or ioredis options. */
  connection: RedisConnection;
  /**
   * Prefix of every key and channel.
   * @default 'scaleout:'
   */
  prefix?: string;
  /**
   * Time source of the bound on a lease announced by another process (an
   * `up` change ending further ahead than the longest lease is dropped as
   * corrupt). Leases themselves expire on the Redis server's clock.
   * @default systemClock
   */
  clock?: Clock;
}

const DEFAULTS = { prefix: 'scaleout:', clock: systemClock } as const;

const checkRedisRegistryAdapterOptions = optionsChecker({
  where: 'redisRegistryAdapter options',
  keys: ['connection', 'prefix', 'clock'],
  hints: { client: 'connection', redis: 'connection', url: 'connection', keyPrefix: 'prefix', now: 'clock' },
});

/**
 * Largest record or announcement read back, in UTF-16 units: a registration
 * holds at most 64 metadata entries of 256 + 1024 characters, far below.
 * Anything larger is not what scaleout writes and is skipped unparsed.
 */
const MAX_RECORD_LENGTH = 1_000_000;

// Shared Lua: the store's clock (so that leases do not depend on the clocks
// of the processes), pruning of expired leases with a `down` announcement,
// and key expiry so that a service whose every instance crashed leaves no
// keys behind forever. Every script first checks the types of its keys, so
// a key of another type (written by someone else) is reported as a data
// error naming it, before anything is written.
const PRELUDE = `
local function bad_types()
  local t = redis.call('TYPE', KEYS[1])['ok']
  if t ~= 'hash' and t ~= 'none' then return 'scaleout:data records key holds a ' .. t .. ', not a hash' end
  t = redis.call('TYPE', KEYS[2])['ok']
  if t ~= 'zset' and t ~= 'none' then return 'scaleout:data leases key holds a ' .. t .. ', not a sorted set' end
  return false
end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function prune(now)
  local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 1000)
  for _, id in ipairs(expired) do
    redis.call('ZREM', KEYS[2], id)
    redis.call('HDEL', KEYS[1], id)
    redis.call('PUBLISH', ARGV[1], cjson.encode({ type = 'down', id = id, reason = 'expired' }))
  end
end
local function keep(ttl)
  local span = ttl * 2 + 60000
  for i = 1, 2 do
    if redis.call('PTTL', KEYS[i]) < span then redis.call('PEXPIRE', KEYS[i], span) end
  end
end
local function owner_of(text)
  local ok, rec = pcall(cjson.decode, text)
  if ok and type(rec) == 'table' and type(rec.owner) == 'string' then return rec.owner end
  return ''
end
`;

// KEYS: records hash, leases zset. ARGV: channel, id, record JSON, owner, ttlMs.
const REGISTER = defineRedisScript({
  name: 'registry-register',
  keys: 2,
  lua: `${PRELUDE}
local bad = bad_types()
if bad then return redis.error_reply(bad) end
local now = now_ms()
prune(now)
local ttl = tonumber(ARGV[5])
local replaced = ''
local previous = redis.call('HGET', KEYS[1], ARGV[2])
if previous then
  local prev_owner = owner_of(previous)
  if prev_owner ~= ARGV[4] then replaced = prev_owner end
end
local expires = now + ttl
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[2], expires, ARGV[2])
keep(ttl)
redis.call('PUBLISH', ARGV[1], '{"type":"up","expiresAt":' .. string.format('%d', expires) .. ',"record":' .. ARGV[3] .. '}')
return { now, expires, replaced }
`,
});

// KEYS: records hash, leases zset. ARGV: channel, id, owner, ttlMs.
const HEARTBEAT = defineRedisScript({
  name: 'registry-heartbeat',
  keys: 2,
  lua: `${PRELUDE}
local bad = bad_types()
if bad then return redis.error_reply(bad) end
local now = now_ms()
prune(now)
local record = redis.call('HGET', KEYS[1], ARGV[2])
if not record then return { now, 'lost', 0 } end
local owner = owner_of(record)
-- An unreadable record (overwritten by something else) is as good as lost:
-- the owner registers again over it, instead of taking it for a takeover.
if owner == '' then return { now, 'lost', 0 } end
if owner ~= ARGV[3] then return { now, 'taken', 0 } end
local ttl = tonumber(ARGV[4])
local expires = now + ttl
local current = tonumber(redis.call('ZSCORE', KEYS[2], ARGV[2]) or '0')
if current > expires then expires = current end
redis.call('ZADD', KEYS[2], expires, ARGV[2])
keep(ttl)
return { now, 'renewed', expires }
`,
});

// KEYS: records hash, leases zset. ARGV: channel, id, owner.
const DEREGISTER = defineRedisScript({
  name: 'registry-deregister',
  keys: 2,
  lua: `${PRELUDE}
local bad = bad_types()
if bad then return redis.error_reply(bad) end
prune(now_ms())
local record = redis.call('HGET', KEYS[1], ARGV[2])
if not record or owner_of(record) ~= ARGV[3] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('PUBLISH', ARGV[1], cjson.encode({ type = 'down', id = ARGV[2], reason = 'deregistered' }))
return 1
`,
});

// KEYS: records hash, leases zset. ARGV: channel.
// Returns { now, { id, record, expiry, id, record, expiry, ... } }.
const LIST = defineRedisScript({
  name: 'registry-list',
  keys: 2,
  lua: `${PRELUDE}
local bad = bad_types()
if bad then return redis.error_reply(bad) end
local now = now_ms()
prune(now)
local leases = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
local out = {}
for i = 1, #leases, 2 do
  local record = redis.call('HGET', KEYS[1], leases[i])
  if record then
    out[#out + 1] = leases[i]
    out[#out + 1] = record
    out[#out + 1] = leases[i + 1]
  else
    redis.call('ZREM', KEYS[2], leases[i])
  end
end
return { now, out }
`,
});

type Listener = (change: RegistryChange) => void;

/**
 * A {@link RegistryAdapter} on Redis, shared by a fleet. A registration is a
 * lease: per service, a sorted set scores instance ids by expiry and a hash
 * holds their records, both under one Cluster hash tag. Each operation is
 * one Lua script that first prunes expired leases, so a crashed instance
 * disappears `ttlMs` after its last heartbeat without anyone deregistering
 * it. Expiry uses the Redis server's clock, never the processes'. Every
 * change is published on a per-service channel (`<prefix>registry:changes:<service>`).
 *
 * What it reads back is validated as `register` validates its input: a
 * record or announcement written by something else (junk, a non-http(s)
 * URL, another service's name, a bad weight, a lease past the longest one)
 * is skipped and reported (`skipped` in the list result, a `corrupt`
 * change), never handed out; a key of the wrong type fails the operation
 * with `CorruptDataError` naming the key, never `ConnectionError`.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { redisRegistryAdapter } from 'scaleout/redis';
 * const adapter = redisRegistryAdapter({ connection: new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'), prefix: 'shop:' });
 * const registry = new ServiceRegistry({ adapter });
 * ```
 */
export class RedisRegistryAdapter implements RegistryAdapter {
  readonly #handle: RedisConnectionHandle;
  readonly #prefix: string;
  readonly #clock: Clock;
  readonly #listeners = new Map<string, Set<Listener>>();
  #subscriber: RedisClient | undefined;
  readonly #life = new Lifecycle('the redis registry adapter');

  constructor(options: RedisRegistryAdapterOptions) {
    checkRedisRegistryAdapterOptions(options);
    if (options === undefined) {
      throw new InvalidOptionsError('redisRegistryAdapter needs options: { connection, prefix? }', {
        option: 'connection',
      });
    }
    this.#prefix = validatePrefix(options.prefix ?? DEFAULTS.prefix);
    clockOption(options.clock);
    this.#clock = options.clock ?? DEFAULTS.clock;
    this.#handle = new RedisConnectionHandle(options.connection);
    if (this.#handle.owned) {
      // A client we created reports failures through the registry's events;
      // without a listener ioredis would print them to the console.
      this.#handle.client.on('error', () => {});
    }
  }

  async register(record: RegistryRecord, options: RegistryLeaseOptions): Promise<RegistryRegisterResult> {
    const text = jsonSerializer.serialize(record);
    const [now, expiresAt, replaced] = (await this.#run(REGISTER, record.service, [
      record.id,
      text,
      record.owner,
      options.ttlMs,
    ])) as [number, number, string];
    return { now, expiresAt, replacedOwner: replaced === '' ? undefined : replaced };
  }

  async heartbeat(
    service: string,
    id: string,
    owner: string,
    options: RegistryLeaseOptions,
  ): Promise<RegistryHeartbeatResult> {
    const [now, status, expiresAt] = (await this.#run(HEARTBEAT, service, [id, owner, options.ttlMs])) as [
      number,
      RegistryHeartbeatResult['status'],
      number,
    ];
    return { status, now, expiresAt: status === 'renewed' ? expiresAt : undefined };
  }

  async deregister(service: string, id: string, owner: string): Promise<boolean> {
    return (await this.#run(DEREGISTER, service, [id, owner])) === 1;
  }

  async list(service: string): Promise<RegistryListResult> {
    const [now, flat] = (await this.#run(LIST, service, [])) as [number, string[]];
    const instances: RegistryLease[] = [];
    const skipped: CorruptDataError[] = [];
    const key = this.#keys(service)[0];
    for (let i = 0; i < flat.length; i += 3) {
      const id = flat[i]!;
      try {
        const record = parseJson(flat[i + 1]!, key);
        instances.push(readRegistryLease(record, Number(flat[i + 2]), { service, key, id, now }));
      } catch (err) {
        if (!isScaleoutError(err, 'ERR_CORRUPT_DATA')) throw err;
        skipped.push(err as CorruptDataError);
      }
    }
    return skipped.length === 0 ? { now, instances } : { now, instances, skipped };
  }

  async subscribe(service: string, listener: (change: RegistryChange) => void): Promise<Subscription> {
    this.#assertOpen();
    const channel = this.#channel(service);
    this.#ensureSubscriber();
    let set = this.#listeners.get(channel);
    // Changes (and resyncs) reach it in the async context of this call, not
    // in that of the call that opened the subscriber connection.
    const entry: Listener = bindToCurrentContext((change: RegistryChange) => listener(change));
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(channel, set);
      set.add(entry);
      try {
        await this.#subscriber!.subscribe(channel);
      } catch (err) {
        set.delete(entry);
        if (set.size === 0) this.#listeners.delete(channel);
        throw new ConnectionError(`could not subscribe to registry changes of ${service}`, { cause: err });
      }
    } else {
      set.add(entry);
    }
    return {
      unsubscribe: async () => {
        const current = this.#listeners.get(channel);
        if (current === undefined || !current.delete(entry)) return;
        if (current.size === 0) {
          this.#listeners.delete(channel);
          await this.#subscriber?.unsubscribe(channel).catch(() => {});
        }
      },
    };
  }

  /**
   * Ends every subscription and closes the connections the adapter created
   * (its subscriber connection, and its main one unless it was given an
   * ioredis client, which stays open). Idempotent: every call gets the same promise.
   */
  close(): Promise<void> {
    return this.#life.close(async () => {
      this.#listeners.clear();
      await this.#handle.close();
    });
  }

  #channel(service: string): string {
    return `${this.#prefix}registry:changes:${service}`;
  }

  #assertOpen(): void {
    this.#life.assertOpen();
  }

  #keys(service: string): [records: string, leases: string] {
    const base = `registry:${service}`;
    return [taggedKey(this.#prefix, base, 'records'), taggedKey(this.#prefix, base, 'leases')];
  }

  async #run(script: RedisScript, service: string, args: ScriptArg[]): Promise<unknown> {
    this.#assertOpen();
    const keys = this.#keys(service);
    try {
      return await script.run(this.#handle.client, keys, [this.#channel(service), ...args]);
    } catch (err) {
      // A data error names the key it is about (the script says which); the rest is an outage.
      const key = /scaleout:data leases/.test(String((err as Error)?.message)) ? keys[1] : keys[0];
      throw redisFailure(`redis registry ${script.name} for ${service}`, err, key);
    }
  }

  #ensureSubscriber(): void {
    if (this.#subscriber !== undefined) return;
    const sub = this.#handle.duplicate();
    this.#subscriber = sub;
    sub.on('error', () => {
      // Reconnection is ioredis's job; a resync follows the next 'ready'.
    });
    let readyBefore = false;
    sub.on('ready', () => {
      // After a reconnect, messages published meanwhile are lost: ask every view to list again.
      if (readyBefore) {
        for (const [channel, set] of this.#listeners) {
          const service = channel.slice(this.#channel('').length);
          for (const listener of set) safeCall(listener, { type: 'resync', service });
        }
      }
      readyBefore = true;
    });
    sub.on('message', (channel: string, message: string) => {
      const set = this.#listeners.get(channel);
      if (set === undefined) return;
      const service = channel.slice(this.#channel('').length);
      const change = parseChange(service, channel, message, this.#clock.now());
      for (const listener of set) safeCall(listener, change);
    });
  }
}

function safeCall(listener: Listener, change: RegistryChange): void {
  try {
    listener(change);
  } catch {
    // A listener's failure is its own.
  }
}

/** Parses stored or published JSON; anything unreadable is a `CorruptDataError` naming `key`. */
function parseJson(text: unknown, key: string): unknown {
  if (typeof text !== 'string' || text.length > MAX_RECORD_LENGTH) {
    throw new CorruptDataError(`registry data at ${JSON.stringify(key)} skipped: larger than any record`, {
      key,
    });
  }
  try {
    return jsonSerializer.deserialize(text);
  } catch (err) {
    const reason = isScaleoutError(err, 'ERR_UNSAFE_PAYLOAD') ? 'a prototype-pollution key' : 'not JSON';
    throw new CorruptDataError(`registry data at ${JSON.stringify(key)} skipped: ${reason}`, {
      key,
      cause: err,
    });
  }
}

/** A published change, validated as a listed record is; junk becomes a `corrupt` change. */
function parseChange(service: string, channel: string, message: string, now: number): RegistryChange {
  try {
    const value = parseJson(message, channel) as {
      type?: unknown;
      id?: unknown;
      reason?: unknown;
      expiresAt?: unknown;
      record?: unknown;
    } | null;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      if (value.type === 'down') {
        const { id, reason } = value;
        if (
          typeof id === 'string' &&
          (reason === 'deregistered' || reason === 'expired') &&
          isInstanceId(id)
        ) {
          return { type: 'down', service, id, reason };
        }
      } else if (value.type === 'up') {
        // No store clock here: the adapter's clock bounds a lease (a day and a minute ahead at most).
        const lease = readRegistryLease(value.record, value.expiresAt, { service, key: channel, now });
        return { type: 'up', service, lease };
      }
    }
    throw new CorruptDataError(
      `registry announcement on ${JSON.stringify(channel)} dropped: not an up or down change`,
      { key: channel },
    );
  } catch (err) {
    // Never throw out of the subscriber's message handler: whatever went wrong, the message is dropped and reported.
    const error = isScaleoutError(err, 'ERR_CORRUPT_DATA')
      ? (err as CorruptDataError)
      : new CorruptDataError(`registry announcement on ${JSON.stringify(channel)} dropped: unreadable`, {
          key: channel,
          cause: err,
        });
    return { type: 'corrupt', service, error };
  }
}

function isInstanceId(id: string): boolean {
  try {
    return normaliseInstanceUrl(id) === id;
  } catch {
    return false;
  }
}

/**
 * Makes a {@link RedisRegistryAdapter}.
 *
 * @example
 * ```ts
 * const registry = new ServiceRegistry({
 *   adapter: redisRegistryAdapter({ connection: 'redis://127.0.0.1:6379', prefix: 'shop:' }),
 * });
 * ```
 */
export function redisRegistryAdapter(options: RedisRegistryAdapterOptions): RedisRegistryAdapter {
  return new RedisRegistryAdapter(options);
}
