import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../../errors.js';
import type { RedisClient } from './connection.js';
import { isCluster } from './connection.js';

/**
 * A value passed to a script as ARGV.
 *
 * @example
 * ```ts
 * const args: ScriptArg[] = ['token', 30_000];
 * ```
 */
export type ScriptArg = string | number | Buffer;

/**
 * A Lua script called by SHA (`EVALSHA`), falling back to `EVAL` only when
 * the server answers `NOSCRIPT` (first call, or after a restart/failover
 * emptied its script cache). One round trip in the steady state.
 *
 * @example
 * ```ts
 * const compareAndDelete = defineRedisScript({
 *   name: 'compare-and-delete',
 *   keys: 1,
 *   lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`,
 * });
 * const deleted = await compareAndDelete.run(redis, ['lock:a'], [token]);
 * ```
 */
export class RedisScript {
  /** The SHA1 of the script body, as Redis computes it. */
  readonly sha: string;

  constructor(
    /** A name for diagnostics. */
    readonly name: string,
    /** The Lua body. */
    readonly lua: string,
    /** How many leading arguments are keys, or `'variadic'` when each call says (`KEYS` of any length). */
    readonly keys: number | 'variadic',
  ) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  /** Runs the script; `keys.length` must equal the declared key count. */
  async run(client: RedisClient, keys: readonly string[], args: readonly ScriptArg[] = []): Promise<unknown> {
    if (this.keys !== 'variadic' && keys.length !== this.keys) {
      throw new InvalidArgumentError(`script ${this.name} takes ${this.keys} keys, got ${keys.length}`, {
        argument: 'keys',
      });
    }
    const count = keys.length;
    try {
      return await client.evalsha(this.sha, count, ...keys, ...args);
    } catch (err) {
      if (!isNoScript(err)) throw err;
      return await client.eval(this.lua, count, ...keys, ...args);
    }
  }

  /**
   * Loads the script into the server's cache ahead of time (on every master
   * of a Cluster), so that pipelined `EVALSHA` calls cannot meet `NOSCRIPT`.
   */
  async load(client: RedisClient): Promise<void> {
    if (isCluster(client)) {
      await Promise.all(client.nodes('master').map((node) => node.script('LOAD', this.lua)));
    } else {
      await client.script('LOAD', this.lua);
    }
  }
}

/**
 * True when `err` is Redis's `NOSCRIPT` reply.
 *
 * @example
 * ```ts
 * if (isNoScript(err)) await script.load(client);
 * ```
 */
export function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.includes('NOSCRIPT');
}

/**
 * Options of {@link defineRedisScript}.
 *
 * @example
 * ```ts
 * const def: RedisScriptDefinition = { name: 'incr', keys: 1, lua: "return redis.call('INCR', KEYS[1])" };
 * ```
 */
export interface RedisScriptDefinition {
  /** A name for diagnostics. */
  name: string;
  /** The Lua body. */
  lua: string;
  /** How many leading arguments are keys (`KEYS[1..n]`), or `'variadic'` when each call decides. */
  keys: number | 'variadic';
}

/**
 * Defines a Lua script that runs by SHA with a `NOSCRIPT` fallback. Define
 * scripts once at module level; they are not bound to a connection.
 *
 * @example
 * ```ts
 * const incrWithTtl = defineRedisScript({
 *   name: 'incr-with-ttl',
 *   keys: 1,
 *   lua: `local v = redis.call('INCR', KEYS[1]) redis.call('PEXPIRE', KEYS[1], ARGV[1]) return v`,
 * });
 * await incrWithTtl.run(redis, ['counter'], [60_000]);
 * ```
 */
export function defineRedisScript(definition: RedisScriptDefinition): RedisScript {
  return new RedisScript(definition.name, definition.lua, definition.keys);
}
