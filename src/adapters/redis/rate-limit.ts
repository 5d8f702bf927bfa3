import type {
  RateLimitAdapter,
  RateLimitAdapterResult,
  RateLimitCostRequest,
  RateLimitRequest,
  RateLimitRule,
  RateLimitRuleState,
} from '../../contracts/rate-limit.js';
import { ClosedError, CorruptDataError, InvalidOptionsError } from '../../errors.js';
import { optionsChecker } from '../../internal/validate.js';
import { ALGORITHM_CODES, ruleSuffix } from '../../rate-limit/algorithm.js';
import { type GcraTaken, gcraTakeFromDebt, newGcraTaken } from '../../rate-limit/gcra.js';
import { checkRateLimitRequest } from '../../rate-limit/rate-limit-request.js';
import type { RedisClient, RedisConnection } from './connection.js';
import { isRedisDataError, RedisConnectionHandle, redisFailure } from './connection.js';
import { taggedKey, validatePrefix } from './keys.js';
import { redisRateLimitScripts } from './rate-limit-script.js';
import { isNoScript } from './scripts.js';

/**
 * Options of {@link redisRateLimitAdapter}.
 *
 * @example
 * ```ts
 * const options: RedisRateLimitAdapterOptions = { connection: 'redis://127.0.0.1:6379', prefix: 'api:rl:' };
 * ```
 */
export interface RedisRateLimitAdapterOptions {
  /** An ioredis `Redis` or `Cluster` (reused, not closed), a `redis://` URL, or ioredis options. */
  connection: RedisConnection;
  /** Prefix of every key. @default 'scaleout:rl:' */
  prefix?: string;
}

/**
 * Defaults of {@link RedisRateLimitAdapterOptions}.
 *
 * @example
 * ```ts
 * const prefix = `${REDIS_RATE_LIMIT_ADAPTER_DEFAULTS.prefix}billing:`;
 * ```
 */
export const REDIS_RATE_LIMIT_ADAPTER_DEFAULTS = Object.freeze({
  /** Key prefix. */
  prefix: 'scaleout:rl:',
});

const checkOptions = optionsChecker({
  where: 'redisRateLimitAdapter options',
  keys: ['connection', 'prefix'],
  hints: { client: 'connection', redis: 'connection', url: 'connection' },
});

/** Per rules array: the ARGV tail (algorithm, limit, window of each rule) and the key suffixes. */
interface RulesPlan {
  readonly args: readonly string[];
  readonly suffixes: readonly string[];
  /** One GCRA rule: a consume goes to the `gcra` script. */
  readonly gcra: boolean;
}

const plans = new WeakMap<readonly RateLimitRule[], RulesPlan>();

function planOf(rules: readonly RateLimitRule[]): RulesPlan {
  let plan = plans.get(rules);
  if (plan === undefined) {
    const args: string[] = [];
    const suffixes: string[] = [];
    for (const rule of rules) {
      args.push(ALGORITHM_CODES[rule.algorithm], String(rule.limit), String(rule.windowMs));
      suffixes.push(ruleSuffix(rule.algorithm, rule.windowMs));
    }
    plan = { args, suffixes, gcra: rules.length === 1 && rules[0]!.algorithm === 'gcra' };
    if (Object.isFrozen(rules)) plans.set(rules, plan);
  }
  return plan;
}

const DATA_ERROR_INDEX = /scaleout:data (\d+)/;

/** Where {@link gcraTakeFromDebt} writes (read at once, before anything else runs). */
const TAKEN: GcraTaken = newGcraTaken();

/**
 * Rate limits on Redis (standalone, Sentinel-managed or Cluster). Every
 * decision is one Lua script called by SHA (one round trip, however many
 * limits), timed by the server's `TIME`. The limits of a key are kept in
 * one string per limit (`<prefix>{<key>}:<algorithm letter><window>`), all
 * under the key's hash tag, so the script runs on Cluster; each expires
 * when its state would read as empty.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { RateLimiter } from 'scaleout';
 * import { redisRateLimitAdapter } from 'scaleout/redis';
 *
 * const limiter = new RateLimiter({
 *   adapter: redisRateLimitAdapter({ connection: new Redis() }),
 *   limits: { limit: 100, windowMs: 60_000 },
 * });
 * ```
 */
export class RedisRateLimitAdapter implements RateLimitAdapter {
  readonly #handle: RedisConnectionHandle;
  readonly #prefix: string;
  #closed = false;

  constructor(options: RedisRateLimitAdapterOptions) {
    if (options === undefined) {
      throw new InvalidOptionsError('redisRateLimitAdapter needs options: { connection, prefix? }', {
        option: 'connection',
      });
    }
    checkOptions(options);
    this.#prefix = validatePrefix(options.prefix ?? REDIS_RATE_LIMIT_ADAPTER_DEFAULTS.prefix);
    // A connection it creates writes a tick's scripts 8 at a time, as the
    // lock's does (see batchWritesPerTick): decision scripts cost redis-server
    // more than they cost the client to send.
    this.#handle = new RedisConnectionHandle(options.connection, { batchWrites: 8 });
  }

  /** The command client (shared with the caller when they passed one). */
  get client(): RedisClient {
    return this.#handle.client;
  }

  /** The key prefix. */
  get prefix(): string {
    return this.#prefix;
  }

  /**
   * The Redis keys of `key` under `rules`, in their order.
   *
   * @example
   * ```ts
   * adapter.keysOf('api:ip:10.0.0.7', [{ limit: 10, windowMs: 1_000, algorithm: 'gcra' }]);
   * // ['scaleout:rl:{api:ip:10.0.0.7}:g1000']
   * ```
   */
  keysOf(key: string, rules: readonly RateLimitRule[]): string[] {
    return planOf(rules).suffixes.map((suffix) => taggedKey(this.#prefix, key, suffix));
  }

  #checkOpen(): void {
    if (this.#closed) throw new ClosedError('rate limit adapter is closed');
  }

  /**
   * Runs the decision script by SHA, sending it (EVAL) on NOSCRIPT. Written
   * as one promise chain, without async layers: this is the hot path.
   */
  #run(what: string, op: string, request: RateLimitRequest, cost: number): Promise<unknown> {
    const plan = planOf(request.rules);
    const client = this.#handle.client;
    const { sha, lua } = redisRateLimitScripts.decide;
    const count = String(cost);
    const [a, l, w] = plan.args;
    let keys: string[];
    let sent: Promise<unknown>;
    if (plan.suffixes.length === 1) {
      keys = [taggedKey(this.#prefix, request.key, plan.suffixes[0]!)];
      sent = client.evalsha(sha, 1, keys[0]!, op, count, a!, l!, w!);
    } else {
      keys = plan.suffixes.map((suffix) => taggedKey(this.#prefix, request.key, suffix));
      sent = client.evalsha(sha, keys.length, ...keys, op, count, ...plan.args);
    }
    return sent.catch((err: unknown) => {
      if (!isNoScript(err)) throw this.#failure(what, err, keys);
      return client.eval(lua, keys.length, ...keys, op, count, ...plan.args).catch((again: unknown) => {
        throw this.#failure(what, again, keys);
      });
    });
  }

  #failure(what: string, err: unknown, keys: readonly string[]): unknown {
    let key: string | undefined;
    if (isRedisDataError(err)) {
      const index = DATA_ERROR_INDEX.exec(String((err as Error).message));
      key = keys[index === null ? 0 : Number(index[1]) - 1] ?? keys[0];
    }
    return redisFailure(what, err, key);
  }

  #result(reply: unknown, request: RateLimitRequest): RateLimitAdapterResult {
    const n = request.rules.length;
    let valid = Array.isArray(reply) && reply.length === 1 + 3 * n;
    for (let i = 0; valid && i <= 3 * n; i++) valid = Number.isSafeInteger((reply as unknown[])[i]);
    if (!valid) {
      throw new CorruptDataError('redis rate limit: the script answered in an unexpected shape', {
        key: this.keysOf(request.key, request.rules)[0],
      });
    }
    const values = reply as number[];
    const rules: RateLimitRuleState[] = [];
    for (let i = 0; i < n; i++) {
      rules.push({
        remaining: values[1 + 3 * i]!,
        resetMs: values[2 + 3 * i]!,
        retryAfterMs: values[3 + 3 * i]!,
      });
    }
    return { allowed: values[0] === 1, rules };
  }

  consume(request: RateLimitCostRequest): Promise<RateLimitAdapterResult> {
    try {
      this.#checkOpen();
      checkRateLimitRequest(request, true);
    } catch (err) {
      return Promise.reject(err);
    }
    if (planOf(request.rules).gcra) return this.#consumeGcra(request);
    return this.#run('redis rate limit consume', 'c', request, request.cost).then((reply) =>
      this.#result(reply, request),
    );
  }

  /**
   * One GCRA limit consumed (the commonest decision) by the `gcra` script,
   * whose answer is the debt before the consume; the figures follow from
   * it here, with the memory adapter's function. One promise step on the
   * reply (the NOSCRIPT retry in its rejection branch).
   */
  #consumeGcra(request: RateLimitCostRequest): Promise<RateLimitAdapterResult> {
    const rule = request.rules[0]!;
    const plan = planOf(request.rules);
    const key = taggedKey(this.#prefix, request.key, plan.suffixes[0]!);
    const cost = request.cost;
    const count = cost === 1 ? '1' : String(cost);
    const limit = plan.args[1]!;
    const window = plan.args[2]!;
    const client = this.#handle.client;
    const { sha, lua } = redisRateLimitScripts.gcra;
    const answer = (reply: unknown): RateLimitAdapterResult => {
      const { limit: l, windowMs: w } = rule;
      if (typeof reply !== 'number' || !Number.isSafeInteger(reply) || reply < 0 || reply > l * w) {
        throw new CorruptDataError('redis rate limit: the script answered in an unexpected shape', { key });
      }
      gcraTakeFromDebt(reply, 0, l, w, cost, TAKEN);
      const state: RateLimitRuleState = {
        remaining: TAKEN.remaining,
        resetMs: TAKEN.resetMs,
        retryAfterMs: TAKEN.retryAfterMs,
      };
      return { allowed: TAKEN.allowed, rules: [state] };
    };
    return client.evalsha(sha, 1, key, count, limit, window).then(answer, (err: unknown) => {
      if (!isNoScript(err)) throw this.#failure('redis rate limit consume', err, [key]);
      return client.eval(lua, 1, key, count, limit, window).then(answer, (again: unknown) => {
        throw this.#failure('redis rate limit consume', again, [key]);
      });
    });
  }

  peek(request: RateLimitRequest): Promise<RateLimitAdapterResult> {
    try {
      this.#checkOpen();
      checkRateLimitRequest(request, false);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#run('redis rate limit peek', 'p', request, 1).then((reply) => this.#result(reply, request));
  }

  async refund(request: RateLimitCostRequest): Promise<void> {
    this.#checkOpen();
    checkRateLimitRequest(request, true);
    await this.#run('redis rate limit refund', 'r', request, request.cost);
  }

  async reset(request: RateLimitRequest): Promise<void> {
    this.#checkOpen();
    checkRateLimitRequest(request, false);
    try {
      // One DEL: the keys share a hash tag, hence a Cluster slot.
      await this.#handle.client.del(...this.keysOf(request.key, request.rules));
    } catch (err) {
      throw redisFailure('redis rate limit reset', err);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#handle.close();
  }
}

/**
 * Creates a {@link RedisRateLimitAdapter}.
 *
 * @example
 * ```ts
 * const adapter = redisRateLimitAdapter({ connection: redis, prefix: 'api:rl:' });
 * ```
 */
export function redisRateLimitAdapter(options: RedisRateLimitAdapterOptions): RedisRateLimitAdapter {
  return new RedisRateLimitAdapter(options);
}
