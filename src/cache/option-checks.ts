import { InvalidOptionsError } from '../errors.js';
import { listenerChecker, optionsChecker } from '../internal/validate.js';
import {
  checkTelemetryOptions,
  TELEMETRY_OPTION_KEYS,
  type TelemetryOptions,
} from '../telemetry/telemetry-options.js';
import { type Clock, type Logger, noopLogger, systemClock } from '../types.js';
import { DISTRIBUTED_CACHE_DEFAULTS } from './options.js';

/**
 * The checks of every options object the cache takes: unknown keys and
 * anything but a plain object are refused with `InvalidOptionsError`
 * naming the key (and the option probably meant); a bare number where an
 * options object goes names `{ ttlMs }`, because the design's code passes
 * seconds there (`cache.set(key, value, 3600)`) and scaleout's durations
 * are milliseconds.
 */

/** Unknown keys people write, mapped to the option meant. */
const TTL_HINTS = {
  ttl: 'ttlMs',
  ttlSeconds: 'ttlMs',
  expiresIn: 'ttlMs',
  expire: 'ttlMs',
  ex: 'ttlMs',
  px: 'ttlMs',
  EX: 'ttlMs',
  PX: 'ttlMs',
  grace: 'graceMs',
} as const;

const CACHE_OPTION_KEYS = [
  'adapter',
  ...Object.keys(DISTRIBUTED_CACHE_DEFAULTS),
  'serializer',
  'logger',
  'clock',
  ...TELEMETRY_OPTION_KEYS,
] as const;

const checkCacheShape = optionsChecker({
  where: 'DistributedCache options',
  keys: CACHE_OPTION_KEYS,
  hints: {
    ttl: 'defaultTtlMs',
    ttlMs: 'defaultTtlMs',
    defaultTtl: 'defaultTtlMs',
    defaultTTL: 'defaultTtlMs',
    ttlSeconds: 'defaultTtlMs',
    redis: 'adapter',
    redisClient: 'adapter',
    client: 'adapter',
    connection: 'adapter',
    store: 'adapter',
  },
});

/**
 * Checks the options of `new DistributedCache(options)`. Something that is
 * not a plain object (an ioredis client, a URL, another cache) is refused
 * with the call to write instead.
 */
export function checkCacheOptions(value: unknown): void {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const name = (proto as { constructor?: { name?: unknown } }).constructor?.name;
      throw new InvalidOptionsError(
        `DistributedCache takes an options object, got ${typeof name === 'string' && name !== '' ? `an instance of ${name}` : 'an object with a prototype'}: pass { adapter: redisCacheAdapter({ connection: redis }) } (import redisCacheAdapter from 'scaleout/redis')`,
        { option: 'adapter' },
      );
    }
  }
  if (typeof value === 'string') {
    throw new InvalidOptionsError(
      'DistributedCache takes an options object, got a string: pass { adapter: redisCacheAdapter({ connection: url }) }',
      { option: 'adapter' },
    );
  }
  checkCacheShape(value);
  if (value !== undefined && value !== null) {
    checkTelemetryOptions(value as TelemetryOptions, 'DistributedCache options');
  }
}

/** Checks the options of `set` / `setNX` (a bare number is refused naming `{ ttlMs }`). */
export const checkSetOptions = optionsChecker({
  where: 'cache.set() options',
  keys: ['ttlMs', 'graceMs'],
  hints: TTL_HINTS,
  bareNumber: 'ttlMs',
});

/** Checks the options of `setNX`. */
export const checkSetNXOptions = optionsChecker({
  where: 'cache.setNX() options',
  keys: ['ttlMs', 'graceMs'],
  hints: TTL_HINTS,
  bareNumber: 'ttlMs',
});

/** Checks the options of `getOrSet`. */
export const checkGetOrSetOptions = optionsChecker({
  where: 'cache.getOrSet() options',
  keys: ['ttlMs', 'graceMs', 'softTimeoutMs', 'hardTimeoutMs', 'earlyRefreshBeta'],
  hints: { ...TTL_HINTS, beta: 'earlyRefreshBeta', timeoutMs: 'hardTimeoutMs', timeout: 'hardTimeoutMs' },
  bareNumber: 'ttlMs',
});

/** Checks the options of `increment` (its third argument). */
export const checkIncrementOptions = optionsChecker({
  where: 'cache.increment() options',
  keys: ['ttlMs'],
  hints: TTL_HINTS,
  bareNumber: 'ttlMs',
});

/** Checks one entry of `setMany`. */
export const checkSetManyEntry = optionsChecker({
  where: 'cache.setMany() entry',
  keys: ['key', 'value', 'ttlMs', 'graceMs'],
  hints: TTL_HINTS,
});

/** The cache's event names (see DistributedCacheEvents). */
const CACHE_EVENTS: ReadonlySet<string> = new Set([
  'hit',
  'miss',
  'stale',
  'refresh',
  'error',
  'circuit',
  'flush',
]);

/**
 * Checks `cache.on/off(event, listener)`: an unknown event name would never
 * fire and a listener that is not a function would fail at every event, so
 * both are refused with `InvalidArgumentError`.
 */
export const checkListener = listenerChecker(CACHE_EVENTS);

/** The `clock` option: a Clock (now + monotonic), or the system clock. */
export function checkedClock(clock: Clock | undefined): Clock {
  if (clock === undefined) return systemClock;
  if (typeof clock?.now !== 'function' || typeof clock.monotonic !== 'function') {
    throw new InvalidOptionsError('clock must have now() and monotonic()', { option: 'clock' });
  }
  return clock;
}

/** The `logger` option: an object, or the no-op logger. */
export function checkedLogger(logger: Logger | undefined): Logger {
  if (logger === undefined) return noopLogger;
  if (typeof logger !== 'object' || logger === null) {
    throw new InvalidOptionsError('logger must be an object with debug/info/warn/error methods', {
      option: 'logger',
    });
  }
  return logger;
}
