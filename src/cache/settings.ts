import { InvalidArgumentError, InvalidOptionsError } from '../errors.js';
import { durationArgument, durationOption } from '../internal/validate.js';
import {
  type CacheSetOptions,
  DISTRIBUTED_CACHE_DEFAULTS,
  type DistributedCacheOptions,
  type GetOrSetOptions,
} from './options.js';

/**
 * The options of a cache resolved against {@link DISTRIBUTED_CACHE_DEFAULTS}
 * and validated: what every part of the cache reads.
 */
export interface Settings {
  defaultTtlMs: number;
  graceMs: number;
  l1: boolean;
  l1MaxEntries: number;
  l1MaxBytes: number;
  l1TtlMs: number;
  lockTtlMs: number;
  waitPollMinMs: number;
  waitPollMaxMs: number;
  softTimeoutMs: number;
  hardTimeoutMs: number;
  earlyRefreshBeta: number;
  operationTimeoutMs: number;
  failOpen: boolean;
  circuitThreshold: number;
  circuitOpenMs: number;
  maxValueBytes: number;
  maxKeyLength: number;
}

/** Resolved per-call options of a load (a `getOrSet`, or a `set`'s TTLs). */
export interface LoadOptions {
  ttlMs: number;
  graceMs: number;
  softTimeoutMs: number;
  hardTimeoutMs: number;
  beta: number;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new InvalidOptionsError(`${name} must be an integer >= 1`, { option: name });
  }
  return value;
}

function booleanOption(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean')
    throw new InvalidOptionsError(`${name} must be a boolean`, { option: name });
  return value;
}

/** Resolves and validates {@link DistributedCacheOptions} field by field. */
export function resolveSettings(o: DistributedCacheOptions): Settings {
  const d = DISTRIBUTED_CACHE_DEFAULTS;
  const beta = o.earlyRefreshBeta ?? d.earlyRefreshBeta;
  if (typeof beta !== 'number' || !Number.isFinite(beta) || beta < 0) {
    throw new InvalidOptionsError('earlyRefreshBeta must be a finite number >= 0', {
      option: 'earlyRefreshBeta',
    });
  }
  const s: Settings = {
    defaultTtlMs: durationOption('defaultTtlMs', o.defaultTtlMs ?? d.defaultTtlMs),
    graceMs: durationOption('graceMs', o.graceMs ?? d.graceMs, 0),
    l1: booleanOption('l1', o.l1 ?? d.l1),
    l1MaxEntries: positiveInteger('l1MaxEntries', o.l1MaxEntries ?? d.l1MaxEntries),
    l1MaxBytes: positiveInteger('l1MaxBytes', o.l1MaxBytes ?? d.l1MaxBytes),
    l1TtlMs: durationOption('l1TtlMs', o.l1TtlMs ?? d.l1TtlMs),
    lockTtlMs: durationOption('lockTtlMs', o.lockTtlMs ?? d.lockTtlMs),
    waitPollMinMs: durationOption('waitPollMinMs', o.waitPollMinMs ?? d.waitPollMinMs),
    waitPollMaxMs: durationOption('waitPollMaxMs', o.waitPollMaxMs ?? d.waitPollMaxMs),
    softTimeoutMs: durationOption('softTimeoutMs', o.softTimeoutMs ?? d.softTimeoutMs, 0),
    hardTimeoutMs: durationOption('hardTimeoutMs', o.hardTimeoutMs ?? d.hardTimeoutMs),
    earlyRefreshBeta: beta,
    operationTimeoutMs: durationOption('operationTimeoutMs', o.operationTimeoutMs ?? d.operationTimeoutMs),
    failOpen: booleanOption('failOpen', o.failOpen ?? d.failOpen),
    circuitThreshold: positiveInteger('circuitThreshold', o.circuitThreshold ?? d.circuitThreshold),
    circuitOpenMs: durationOption('circuitOpenMs', o.circuitOpenMs ?? d.circuitOpenMs),
    maxValueBytes: positiveInteger('maxValueBytes', o.maxValueBytes ?? d.maxValueBytes),
    maxKeyLength: positiveInteger('maxKeyLength', o.maxKeyLength ?? d.maxKeyLength),
  };
  if (s.waitPollMaxMs < s.waitPollMinMs) {
    throw new InvalidOptionsError('waitPollMaxMs must be >= waitPollMinMs', { option: 'waitPollMaxMs' });
  }
  return s;
}

/** The cache-wide {@link LoadOptions}: what a call without options uses. */
export function defaultLoadOptions(s: Settings): LoadOptions {
  return {
    ttlMs: s.defaultTtlMs,
    graceMs: s.graceMs,
    softTimeoutMs: s.softTimeoutMs,
    hardTimeoutMs: s.hardTimeoutMs,
    beta: s.earlyRefreshBeta,
  };
}

/** Resolves checked `{ ttlMs, graceMs }` of one call against the defaults. */
export function resolveSetOptions(
  defaults: LoadOptions,
  ttl: CacheSetOptions | undefined,
): { ttlMs: number; graceMs: number } {
  if (ttl === undefined) return defaults;
  return {
    ttlMs: ttl.ttlMs === undefined ? defaults.ttlMs : durationArgument('ttlMs', ttl.ttlMs),
    graceMs: ttl.graceMs === undefined ? defaults.graceMs : durationArgument('graceMs', ttl.graceMs, 0),
  };
}

/** Resolves the options of one `getOrSet` call against the defaults. */
export function resolveLoadOptions(defaults: LoadOptions, options: GetOrSetOptions): LoadOptions {
  const d = defaults;
  const { ttlMs, graceMs } = resolveSetOptions(defaults, options);
  const beta = options.earlyRefreshBeta ?? d.beta;
  if (typeof beta !== 'number' || !Number.isFinite(beta) || beta < 0) {
    throw new InvalidArgumentError('earlyRefreshBeta must be a finite number >= 0', {
      argument: 'earlyRefreshBeta',
    });
  }
  return {
    ttlMs,
    graceMs,
    softTimeoutMs:
      options.softTimeoutMs === undefined
        ? d.softTimeoutMs
        : durationArgument('softTimeoutMs', options.softTimeoutMs, 0),
    hardTimeoutMs:
      options.hardTimeoutMs === undefined
        ? d.hardTimeoutMs
        : durationArgument('hardTimeoutMs', options.hardTimeoutMs),
    beta,
  };
}
