import type {
  LockAcquireRequest,
  LockAcquireResult,
  LockAdapter,
  LockExtendRequest,
  LockExtendResult,
  LockOwnerRequest,
} from '../../contracts/lock.js';
import {
  ConnectionError,
  type CorruptDataError,
  InvalidArgumentError,
  InvalidOptionsError,
  isScaleoutError,
} from '../../errors.js';
import { withTimeout } from '../../internal/abort.js';
import { Lifecycle } from '../../internal/lifecycle.js';
import { durationOption, optionsChecker } from '../../internal/validate.js';
import type { Clock, Subscription } from '../../types.js';
import { systemClock } from '../../types.js';
import type { RedisConnection } from './connection.js';
import { REDIS_LOCK_ADAPTER_DEFAULTS, RedisLockAdapter } from './lock.js';

/**
 * Options of {@link redlockAdapter}.
 *
 * @example
 * ```ts
 * const options: RedlockAdapterOptions = { connections: [redisA, redisB, redisC], instanceTimeoutMs: 100 };
 * ```
 */
export interface RedlockAdapterOptions {
  /**
   * The independent Redis masters (not replicas of one another), each an
   * ioredis client, URL or options. Use an odd number: 3 tolerates one
   * down, 5 tolerates two. One given twice (the same client, or URLs or
   * options naming the same host, port and db) is refused with
   * `InvalidOptionsError`.
   */
  connections: readonly RedisConnection[];
  /** Prefix of every key and channel. @default 'scaleout:lock:' */
  prefix?: string;
  /**
   * Clock drift allowance as a fraction of the TTL: a hold is valid for
   * `ttlMs - ttlMs * driftFactor - 2` ms from when the request was sent,
   * and only if that much is left once a quorum answered.
   * @default 0.01
   */
  driftFactor?: number;
  /**
   * Time limit per instance and operation, in ms. A slow or dead instance
   * counts as a refusal after it, so one bad node cannot stall the rest.
   * @default 200
   */
  instanceTimeoutMs?: number;
  /** Time to live of each instance's fencing counter; see {@link RedisLockAdapterOptions.fenceTtlMs}. @default 86_400_000 */
  fenceTtlMs?: number;
  /** Time source; its `monotonic()` measures how long a quorum took to answer. @default systemClock */
  clock?: Clock;
}

/**
 * Defaults of {@link RedlockAdapterOptions}.
 *
 * @example
 * ```ts
 * const adapter = redlockAdapter({ connections, driftFactor: REDLOCK_ADAPTER_DEFAULTS.driftFactor * 2 });
 * ```
 */
export const REDLOCK_ADAPTER_DEFAULTS = Object.freeze({
  /** Key prefix. */
  prefix: REDIS_LOCK_ADAPTER_DEFAULTS.prefix,
  /** Fraction of the TTL subtracted for clock drift. */
  driftFactor: 0.01,
  /** Time limit of one request to one instance, ms. */
  instanceTimeoutMs: 200,
  /** How long an unused fencing counter is kept, ms. */
  fenceTtlMs: REDIS_LOCK_ADAPTER_DEFAULTS.fenceTtlMs,
});

const checkOptions = optionsChecker({
  where: 'redlockAdapter() options',
  keys: ['connections', 'prefix', 'driftFactor', 'instanceTimeoutMs', 'fenceTtlMs', 'clock'],
  hints: {
    connection: 'connections',
    clients: 'connections',
    servers: 'connections',
    timeoutMs: 'instanceTimeoutMs',
  },
});

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** What locates a standalone server: host or socket path, port, db. */
interface EndpointFields {
  host?: unknown;
  port?: unknown;
  path?: unknown;
  db?: unknown;
  sentinels?: unknown;
}

/**
 * The server and database a connection reaches, as one string
 * (`127.0.0.1:6379/0`), with ioredis's defaults filled in (`localhost`,
 * 6379, db 0); `undefined` when that cannot be told without connecting (a
 * Cluster, a Sentinel group, something that is not a connection). Host
 * names are compared as written: `localhost` and `127.0.0.1` differ.
 */
function endpointOf(connection: unknown): string | undefined {
  let fields: EndpointFields;
  if (typeof connection === 'string') {
    let url: URL;
    try {
      url = new URL(connection);
    } catch {
      return undefined;
    }
    const db = url.pathname.length > 1 ? url.pathname.slice(1) : url.searchParams.get('db');
    fields = { host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port, db: db ?? undefined };
  } else if (typeof connection === 'object' && connection !== null) {
    if ((connection as { isCluster?: unknown }).isCluster === true) return undefined;
    // A client keeps its resolved options in `options`; ioredis options are the fields themselves.
    const own = (connection as { options?: unknown }).options;
    fields = (typeof own === 'object' && own !== null ? own : connection) as EndpointFields;
  } else {
    return undefined;
  }
  if (fields.sentinels !== undefined && fields.sentinels !== null) return undefined;
  const db = String(fields.db ?? '') || '0';
  if (typeof fields.path === 'string' && fields.path !== '') return `${fields.path}/${db}`;
  const host = String(fields.host ?? '').toLowerCase() || 'localhost';
  const port = String(fields.port ?? '') || '6379';
  return `${host}:${port}/${db}`;
}

/**
 * Refuses a connection given twice: the same object, or two that reach
 * the same server and database. Both instances would hold one key space,
 * so the second always finds the lock the first just took, and with that
 * instance counted twice no lock is ever granted (or, with more
 * instances, a quorum is fewer servers than it looks).
 */
function refuseRepeats(connections: readonly unknown[]): void {
  const seen = new Map<unknown, number>();
  for (const [i, connection] of connections.entries()) {
    const endpoint = endpointOf(connection);
    const first = seen.get(connection) ?? (endpoint === undefined ? undefined : seen.get(endpoint));
    if (first !== undefined) {
      throw new InvalidOptionsError(
        `connections[${i}] is the same Redis ${seen.has(connection) ? 'connection' : `server and db (${endpoint})`} as connections[${first}]: Redlock needs independent masters, and a repeated one never lets a lock be granted`,
        { option: 'connections' },
      );
    }
    if (typeof connection === 'object' && connection !== null) seen.set(connection, i);
    if (endpoint !== undefined) seen.set(endpoint, i);
  }
}

/**
 * The Redlock algorithm over N independent Redis masters: a hold counts
 * when a majority (`floor(N/2) + 1`) granted it within its validity time
 * (TTL minus the time spent and the clock drift allowance); otherwise every
 * instance is released at once. Release and extend go to all instances.
 * Each instance runs the same one-script operations as
 * {@link RedisLockAdapter}.
 *
 * Fencing token: the largest of the tokens of the granting instances; the
 * instances of the majority whose counter was behind are raised to it
 * before the grant is reported (one more round trip, only when the counters
 * differ). Successive majorities share an instance, so every token is larger
 * than the one before, as long as no instance loses its counter to a clock
 * behind the others (see docs/lock.md). A counter or lock record that
 * scaleout did not write counts as a refusal on its instance; when that
 * leaves no majority, acquire throws `CorruptDataError`.
 *
 * Fails closed: when fewer than a quorum of instances answer, acquire
 * throws `ConnectionError` rather than report a refusal or a grant.
 *
 * Locks only: a semaphore (`limit > 1`) is refused with
 * `InvalidArgumentError`, because per-instance limits do not compose into a
 * global one under majority voting.
 *
 * @example
 * ```ts
 * const adapter = redlockAdapter({ connections: ['redis://a:6379', 'redis://b:6379', 'redis://c:6379'] });
 * const locks = new DistributedLock({ adapter });
 * ```
 */
export class RedlockAdapter implements LockAdapter {
  readonly #instances: RedisLockAdapter[];
  readonly #quorum: number;
  readonly #driftFactor: number;
  readonly #timeoutMs: number;
  readonly #clock: Clock;
  readonly #life = new Lifecycle('RedlockAdapter');

  constructor(options: RedlockAdapterOptions) {
    checkOptions(options);
    const connections = options?.connections;
    if (!Array.isArray(connections) || connections.length === 0) {
      throw new InvalidOptionsError('connections must be a non-empty array', { option: 'connections' });
    }
    const driftFactor = options.driftFactor ?? REDLOCK_ADAPTER_DEFAULTS.driftFactor;
    if (typeof driftFactor !== 'number' || !(driftFactor >= 0 && driftFactor < 0.5)) {
      throw new InvalidOptionsError('driftFactor must be a number in [0, 0.5)', { option: 'driftFactor' });
    }
    this.#driftFactor = driftFactor;
    const clock = options.clock ?? systemClock;
    if (typeof clock?.monotonic !== 'function' || typeof clock.now !== 'function') {
      throw new InvalidOptionsError('clock must have now() and monotonic()', { option: 'clock' });
    }
    this.#clock = clock;
    this.#timeoutMs = durationOption(
      'instanceTimeoutMs',
      options.instanceTimeoutMs ?? REDLOCK_ADAPTER_DEFAULTS.instanceTimeoutMs,
    );
    const prefix = options.prefix ?? REDLOCK_ADAPTER_DEFAULTS.prefix;
    const fenceTtlMs = options.fenceTtlMs ?? REDLOCK_ADAPTER_DEFAULTS.fenceTtlMs;
    refuseRepeats(connections);
    const instances: RedisLockAdapter[] = [];
    try {
      for (const connection of connections) {
        instances.push(new RedisLockAdapter({ connection, prefix, fenceTtlMs }));
      }
    } catch (err) {
      // A refused connection: close the connections the earlier ones opened.
      for (const instance of instances) instance.close().catch(() => {});
      throw err;
    }
    this.#instances = instances;
    this.#quorum = Math.floor(this.#instances.length / 2) + 1;
  }

  /** How many instances must agree. */
  get quorum(): number {
    return this.#quorum;
  }

  /** The per-instance adapters (for inspection). */
  get instances(): readonly RedisLockAdapter[] {
    return this.#instances;
  }

  #check(limit: number): void {
    this.#life.assertOpen();
    if (limit !== 1) {
      // Per-instance limits do not compose: with 3 instances and limit 2,
      // holders {A,B}, {A,C}, {B,C} would each have a majority.
      throw new InvalidArgumentError('Redlock supports locks only (limit 1), not semaphores', {
        argument: 'limit',
      });
    }
  }

  #all<T>(fn: (instance: RedisLockAdapter) => Promise<T>): Promise<Outcome<T>[]> {
    return this.#each(this.#instances, fn);
  }

  #each<T>(
    instances: readonly RedisLockAdapter[],
    fn: (instance: RedisLockAdapter) => Promise<T>,
  ): Promise<Outcome<T>[]> {
    return Promise.all(
      instances.map((instance) =>
        withTimeout(
          Promise.resolve().then(() => fn(instance)),
          this.#timeoutMs,
          'redlock instance call',
        ).then(
          (value): Outcome<T> => ({ ok: true, value }),
          (error: unknown): Outcome<T> => ({ ok: false, error }),
        ),
      ),
    );
  }

  /**
   * The error when fewer than a quorum answered, or undefined. When the
   * instances that did not answer met data errors (a foreign fencing
   * counter or lock record) and would have made the quorum, the error is
   * that `CorruptDataError`: the servers are up, the data is not ours.
   */
  #unreachable(op: string, outcomes: Outcome<unknown>[]): ConnectionError | CorruptDataError | undefined {
    const answered = outcomes.filter((o) => o.ok).length;
    if (answered >= this.#quorum) return undefined;
    const dataErrors = outcomes.filter((o) => !o.ok && isScaleoutError(o.error, 'ERR_CORRUPT_DATA'));
    if (dataErrors.length > 0 && answered + dataErrors.length >= this.#quorum) {
      return (dataErrors[0] as { error: CorruptDataError }).error;
    }
    const firstError = outcomes.find((o) => !o.ok) as { error: unknown } | undefined;
    return new ConnectionError(
      `redlock ${op}: only ${answered} of ${this.#instances.length} instances answered (quorum ${this.#quorum})`,
      { cause: firstError?.error },
    );
  }

  #validity(ttlMs: number): number {
    return ttlMs - Math.ceil(ttlMs * this.#driftFactor) - 2;
  }

  async acquire(request: LockAcquireRequest): Promise<LockAcquireResult> {
    this.#check(request.limit);
    const started = this.#clock.monotonic();
    const outcomes = await this.#all((i) => i.acquire(request));
    const elapsed = this.#clock.monotonic() - started;
    const validity = this.#validity(request.ttlMs);
    const granted: Array<{ instance: RedisLockAdapter; token: number }> = [];
    const retryAfter: number[] = [];
    for (const [i, o] of outcomes.entries()) {
      if (!o.ok) continue;
      if (o.value.acquired) granted.push({ instance: this.#instances[i]!, token: o.value.fencingToken });
      else if (o.value.retryAfterMs !== undefined) retryAfter.push(o.value.retryAfterMs);
    }
    if (granted.length >= this.#quorum && validity - elapsed > 0) {
      const fencingToken = Math.max(...granted.map((g) => g.token));
      // Every instance of this majority must end at least at the token, so
      // that the next majority (which shares one of them) hands out more.
      const behind = granted.filter((g) => g.token < fencingToken);
      const raised =
        behind.length === 0
          ? []
          : await this.#each(
              behind.map((g) => g.instance),
              (i) => i.raiseFence(request.resource, fencingToken),
            );
      const failed = raised.find((o) => !o.ok) as { error: unknown } | undefined;
      if (failed === undefined && validity - (this.#clock.monotonic() - started) > 0) {
        return { acquired: true, fencingToken, validityMs: validity };
      }
      await this.#releaseAll(request);
      if (failed !== undefined) {
        if (isScaleoutError(failed.error, 'ERR_CORRUPT_DATA')) throw failed.error;
        throw new ConnectionError(
          'redlock acquire: could not bring the fencing counters of the majority up to the token',
          { cause: failed.error },
        );
      }
      return { acquired: false, retryAfterMs: undefined };
    }
    if (granted.length > 0) await this.#releaseAll(request);
    const unreachable = this.#unreachable('acquire', outcomes);
    if (unreachable !== undefined) throw unreachable;
    retryAfter.sort((a, b) => a - b);
    return { acquired: false, retryAfterMs: retryAfter[0] };
  }

  async #releaseAll(request: LockOwnerRequest): Promise<Outcome<boolean>[]> {
    return this.#all((i) =>
      i.release({ resource: request.resource, token: request.token, limit: request.limit }),
    );
  }

  async release(request: LockOwnerRequest): Promise<boolean> {
    this.#check(request.limit);
    const outcomes = await this.#releaseAll(request);
    if (outcomes.every((o) => !o.ok)) throw this.#unreachable('release', outcomes)!;
    return outcomes.filter((o) => o.ok && o.value).length >= this.#quorum;
  }

  async extend(request: LockExtendRequest): Promise<LockExtendResult> {
    this.#check(request.limit);
    const started = this.#clock.monotonic();
    const outcomes = await this.#all((i) => i.extend(request));
    const elapsed = this.#clock.monotonic() - started;
    const validity = this.#validity(request.ttlMs);
    const extended = outcomes.filter((o) => o.ok && o.value.extended).length;
    if (extended >= this.#quorum && validity - elapsed > 0) return { extended: true, validityMs: validity };
    const unreachable = this.#unreachable('extend', outcomes);
    if (unreachable !== undefined) throw unreachable;
    return { extended: false };
  }

  async onRelease(resource: string, limit: number, listener: () => void): Promise<Subscription> {
    const subs = await Promise.all(this.#instances.map((i) => i.onRelease(resource, limit, listener)));
    return {
      unsubscribe: async () => {
        await Promise.all(subs.map((s) => s.unsubscribe()));
      },
    };
  }

  /** Closes every instance's adapter (and the connections they created). Idempotent: one promise for every call. */
  close(): Promise<void> {
    return this.#life.close(async () => {
      await Promise.all(this.#instances.map((i) => i.close()));
    });
  }
}

/**
 * Creates a {@link RedlockAdapter}.
 *
 * @example
 * ```ts
 * const adapter = redlockAdapter({ connections: [redisA, redisB, redisC], driftFactor: 0.01 });
 * ```
 */
export function redlockAdapter(options: RedlockAdapterOptions): RedlockAdapter {
  return new RedlockAdapter(options);
}
