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
import { ClosedError, ConnectionError } from '../../errors.js';
import { jsonSerializer } from '../../internal/serializer.js';
import type { RedisClient, RedisConnection } from './connection.js';
import { RedisConnectionHandle } from './connection.js';
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
}

const DEFAULTS = { prefix: 'scaleout:' } as const;

// Shared Lua: the store's clock (so that leases do not depend on the clocks
// of the processes), pruning of expired leases with a `down` announcement,
// and key expiry so that a service whose every instance crashed leaves no
// keys behind forever.
const PRELUDE = `
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
local now = now_ms()
prune(now)
local record = redis.call('HGET', KEYS[1], ARGV[2])
if not record then return { now, 'lost', 0 } end
if owner_of(record) ~= ARGV[3] then return { now, 'taken', 0 } end
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
const LIST = defineRedisScript({
  name: 'registry-list',
  keys: 2,
  lua: `${PRELUDE}
local now = now_ms()
prune(now)
local leases = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
local out = {}
for i = 1, #leases, 2 do
  local record = redis.call('HGET', KEYS[1], leases[i])
  if record then
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
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { redisRegistryAdapter } from 'scaleout/redis';
 * const adapter = redisRegistryAdapter({ connection: new Redis(process.env.REDIS_URL), prefix: 'shop:' });
 * const registry = new ServiceRegistry({ adapter });
 * ```
 */
export class RedisRegistryAdapter implements RegistryAdapter {
  readonly #handle: RedisConnectionHandle;
  readonly #prefix: string;
  readonly #listeners = new Map<string, Set<Listener>>();
  #subscriber: RedisClient | undefined;
  #closed = false;

  constructor(options: RedisRegistryAdapterOptions) {
    this.#prefix = validatePrefix(options.prefix ?? DEFAULTS.prefix);
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
    for (let i = 0; i < flat.length; i += 2) {
      const record = parseRecord(flat[i]!);
      if (record !== undefined) instances.push({ record, expiresAt: Number(flat[i + 1]) });
    }
    return { now, instances };
  }

  async subscribe(service: string, listener: (change: RegistryChange) => void): Promise<() => Promise<void>> {
    this.#assertOpen();
    const channel = this.#channel(service);
    this.#ensureSubscriber();
    let set = this.#listeners.get(channel);
    const entry: Listener = (change) => listener(change);
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
    return async () => {
      const current = this.#listeners.get(channel);
      if (current === undefined || !current.delete(entry)) return;
      if (current.size === 0) {
        this.#listeners.delete(channel);
        await this.#subscriber?.unsubscribe(channel).catch(() => {});
      }
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    await this.#handle.close();
  }

  #channel(service: string): string {
    return `${this.#prefix}registry:changes:${service}`;
  }

  #assertOpen(): void {
    if (this.#closed) throw new ClosedError('the registry adapter is closed');
  }

  async #run(script: RedisScript, service: string, args: ScriptArg[]): Promise<unknown> {
    this.#assertOpen();
    const base = `registry:${service}`;
    const keys = [taggedKey(this.#prefix, base, 'records'), taggedKey(this.#prefix, base, 'leases')];
    try {
      return await script.run(this.#handle.client, keys, [this.#channel(service), ...args]);
    } catch (err) {
      throw new ConnectionError(`redis registry ${script.name} failed for ${service}`, { cause: err });
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
      const change = parseChange(service, message);
      if (change === undefined) return;
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

function parseRecord(text: string): RegistryRecord | undefined {
  try {
    const value = jsonSerializer.deserialize<RegistryRecord>(text);
    if (
      typeof value !== 'object' ||
      value === null ||
      typeof value.id !== 'string' ||
      typeof value.url !== 'string' ||
      typeof value.service !== 'string'
    ) {
      return undefined;
    }
    return value;
  } catch {
    // An unreadable record (written by something else) is skipped, never served.
    return undefined;
  }
}

function parseChange(service: string, message: string): RegistryChange | undefined {
  let value: { type?: unknown; id?: unknown; reason?: unknown; expiresAt?: unknown; record?: unknown };
  try {
    value = jsonSerializer.deserialize(message);
  } catch {
    return undefined;
  }
  if (value.type === 'down' && typeof value.id === 'string') {
    return {
      type: 'down',
      service,
      id: value.id,
      reason: value.reason === 'deregistered' ? 'deregistered' : 'expired',
    };
  }
  if (value.type === 'up' && typeof value.expiresAt === 'number') {
    const record = value.record as RegistryRecord | undefined;
    if (record === undefined || typeof record !== 'object' || typeof record.id !== 'string') return undefined;
    return { type: 'up', service, lease: { record, expiresAt: value.expiresAt } };
  }
  return undefined;
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
