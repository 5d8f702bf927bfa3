import type { SessionAdapter } from '../contracts/session.js';
import { InvalidOptionsError } from '../errors.js';
import { clockOption, optionsChecker } from '../internal/validate.js';
import {
  checkTelemetryOptions,
  TELEMETRY_OPTION_HINTS,
  TELEMETRY_OPTION_KEYS,
  type TelemetryOptions,
} from '../telemetry/telemetry-options.js';
import type { BaseOptions, Serializer } from '../types.js';

/**
 * Options of {@link SessionStore}.
 *
 * @example
 * ```ts
 * const options: SessionStoreOptions = { adapter: redisSessionAdapter({ connection: redis }), ttlMs: 1_800_000 };
 * ```
 */
export interface SessionStoreOptions extends BaseOptions<SessionAdapter>, TelemetryOptions {
  /**
   * Where sessions live. The store closes it only if it created it: an
   * adapter you pass may be shared (two stores, or a store and your own
   * code), so `close()` leaves it open: close it yourself.
   * @default a new `memorySessionAdapter({ clock })` (one process only), closed by `close()`
   */
  adapter?: SessionAdapter;
  /** Sliding lifetime of a session, ms; `touch` and `update` extend it. @default 86_400_000 (24 h) */
  ttlMs?: number;
  /** How session data is encoded. @default jsonSerializer (refuses prototype pollution) */
  serializer?: Serializer;
  /** Retries of a merge-callback `update` after version conflicts before it throws. @default 16 */
  maxUpdateRetries?: number;
  /** Longest user id accepted, characters. @default 256 */
  maxUserIdLength?: number;
  /**
   * Largest serialized session data, bytes (UTF-8): larger data is refused
   * on write with `PayloadTooLargeError` (nothing is stored), and a stored
   * record larger than this reads as `CorruptDataError`. Applies to every
   * adapter and to the express-session store.
   * @default 1_048_576 (1 MiB)
   */
  maxDataBytes?: number;
}

/**
 * Defaults of {@link SessionStoreOptions}.
 *
 * @example
 * ```ts
 * SESSION_STORE_DEFAULTS.ttlMs; // 86_400_000
 * ```
 */
export const SESSION_STORE_DEFAULTS = {
  /** 24 hours. */
  ttlMs: 86_400_000,
  /** Merge retries before a conflict error. */
  maxUpdateRetries: 16,
  /** Characters. */
  maxUserIdLength: 256,
  /** 1 MiB. */
  maxDataBytes: 1_048_576,
} as const;

/** @internal Largest `maxDataBytes` accepted: 64 MiB. */
export const MAX_DATA_BYTES_LIMIT = 67_108_864;

const TTL_HINTS = {
  ttl: 'ttlMs',
  sessionTTL: 'ttlMs',
  sessionTtl: 'ttlMs',
  maxAge: 'ttlMs',
  expiresIn: 'ttlMs',
};

/** @internal Refuses unknown keys of {@link SessionStoreOptions}. */
export const checkSessionStoreOptions = optionsChecker({
  where: 'SessionStore options',
  keys: [
    'adapter',
    'logger',
    'clock',
    'ttlMs',
    'serializer',
    'maxUpdateRetries',
    'maxUserIdLength',
    'maxDataBytes',
    ...TELEMETRY_OPTION_KEYS,
  ],
  hints: {
    ...TELEMETRY_OPTION_HINTS,
    ...TTL_HINTS,
    client: 'adapter',
    redis: 'adapter',
    redisClient: 'adapter',
    connection: 'adapter',
    store: 'adapter',
    maxBytes: 'maxDataBytes',
    maxSize: 'maxDataBytes',
    now: 'clock',
  },
  bareNumber: 'ttlMs',
});

const ADAPTER_METHODS = [
  'create',
  'get',
  'touch',
  'update',
  'move',
  'destroy',
  'destroyAllForUser',
  'close',
] as const;

/**
 * @internal The checks of {@link SessionStoreOptions} beyond unknown keys:
 * an adapter with every method of the contract (`close` included), a
 * serializer, a logger, a clock, telemetry providers.
 */
export function checkSessionStoreParts(options: SessionStoreOptions): void {
  const adapter = options.adapter as unknown as Record<string, unknown> | undefined;
  if (adapter !== undefined && !ADAPTER_METHODS.every((m) => typeof adapter?.[m] === 'function')) {
    throw new InvalidOptionsError(
      'adapter must be a SessionAdapter (memorySessionAdapter(), redisSessionAdapter({ connection })) with create, get, touch, update, move, destroy, destroyAllForUser and close',
      { option: 'adapter' },
    );
  }
  if (
    options.serializer !== undefined &&
    (typeof options.serializer?.serialize !== 'function' ||
      typeof options.serializer?.deserialize !== 'function')
  ) {
    throw new InvalidOptionsError('serializer must have serialize and deserialize', {
      option: 'serializer',
    });
  }
  const logger = options.logger as { warn?: unknown } | undefined | null;
  if (
    logger !== undefined &&
    (typeof logger !== 'object' || logger === null || typeof logger.warn !== 'function')
  ) {
    throw new InvalidOptionsError('logger must be an object with debug/info/warn/error methods', {
      option: 'logger',
    });
  }
  clockOption(options.clock);
  checkTelemetryOptions(options, 'SessionStore options');
}

/** @internal Refuses unknown keys of `sessions.create()` options. */
export const checkCreateOptions = optionsChecker({
  where: 'sessions.create() options',
  keys: ['userId', 'ttlMs'],
  hints: { ...TTL_HINTS, user: 'userId', id: 'userId', user_id: 'userId', uid: 'userId' },
  bareNumber: 'ttlMs',
});

/** @internal Refuses unknown keys of `sessions.update()` options. */
export const checkUpdateOptions = optionsChecker({
  where: 'sessions.update() options',
  keys: ['expectedVersion'],
  hints: { version: 'expectedVersion', ifVersion: 'expectedVersion' },
  bareNumber: 'expectedVersion',
});
