import { InvalidArgumentError, InvalidOptionsError } from '../errors.js';
import { listenerChecker, optionsChecker } from '../internal/validate.js';
import {
  checkTelemetryOptions,
  TELEMETRY_OPTION_HINTS,
  TELEMETRY_OPTION_KEYS,
  type TelemetryOptions,
} from '../telemetry/telemetry-options.js';
import type { Lease } from './lease.js';

// The checks of every options object a lock or semaphore takes: unknown
// keys and anything but a plain object are refused with
// `InvalidOptionsError` naming the key (and the option probably meant). The
// design's calls get a refusal that says what to write instead:
// `new DistributedLock(cache)` (a lock does not run on a cache) and
// `lock.acquire(resource, 10)` (seconds, where scaleout takes `{ ttlMs }`).

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
  ...TELEMETRY_OPTION_KEYS,
] as const;

const LOCK_HINTS = {
  ...TELEMETRY_OPTION_HINTS,
  ttl: 'ttlMs',
  defaultTTL: 'ttlMs',
  defaultTtl: 'ttlMs',
  ttlSeconds: 'ttlMs',
  wait: 'waitMs',
  timeout: 'waitMs',
  retryDelay: 'retryMinMs',
  cache: 'adapter',
  redis: 'adapter',
  client: 'adapter',
  connection: 'adapter',
  store: 'adapter',
} as const;

const checkLockShape = optionsChecker({
  where: 'DistributedLock options',
  keys: LOCK_KEYS,
  hints: LOCK_HINTS,
  bareNumber: 'ttlMs',
});

const checkSemaphoreShape = optionsChecker({
  where: 'DistributedSemaphore options',
  keys: [...LOCK_KEYS, 'limit'],
  hints: { ...LOCK_HINTS, max: 'limit', permits: 'limit', count: 'limit' },
  bareNumber: 'limit',
});

function prototypeName(value: object): string | undefined {
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) return undefined;
  const name = (proto as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' ? name : 'an object with a prototype';
}

/**
 * Checks the options of `new DistributedLock(options)` (or, with
 * `semaphore`, of `new DistributedSemaphore(options)`). The design's
 * `new DistributedLock(cache)` is refused with the call to write instead:
 * scaleout's lock keeps its holds in a lock adapter, never in a cache, and
 * on a private memory store two processes would both "hold" the lock.
 */
export function checkLockOptions(value: unknown, semaphore: boolean): void {
  const what = semaphore ? 'DistributedSemaphore' : 'DistributedLock';
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const name = prototypeName(value);
    if (name !== undefined) {
      throw new InvalidOptionsError(
        `${what} takes an options object, got an instance of ${name}: pass { adapter: redisLockAdapter({ connection: redis }) } (import redisLockAdapter from 'scaleout/redis'). A lock does not run on a cache, and without an adapter it holds only within this process.`,
        { option: 'adapter' },
      );
    }
  }
  if (semaphore) checkSemaphoreShape(value);
  else checkLockShape(value);
  if (value !== undefined && value !== null) checkTelemetryOptions(value as TelemetryOptions, what);
}

function signalOf(value: Record<string, unknown>): void {
  const signal = value.signal;
  if (signal === undefined) return;
  if (
    typeof signal !== 'object' ||
    signal === null ||
    typeof (signal as { aborted?: unknown }).aborted !== 'boolean' ||
    typeof (signal as { addEventListener?: unknown }).addEventListener !== 'function'
  ) {
    throw new InvalidArgumentError('signal must be an AbortSignal', { argument: 'signal' });
  }
}

const checkAcquireShape = optionsChecker({
  where: 'lock.acquire() options',
  keys: ['ttlMs', 'waitMs', 'signal'],
  hints: LOCK_HINTS,
  bareNumber: 'ttlMs',
});

/**
 * Checks the options of `acquire`. A bare number (the design's
 * `acquire(resource, ttlSeconds)`) is refused naming `{ ttlMs }` and
 * `tryAcquire`, the call that answers null when the resource is taken.
 */
export function checkAcquireOptions(value: unknown): void {
  if (typeof value === 'number') {
    throw new InvalidOptionsError(
      "lock.acquire() options must be an options object, got a number: pass { ttlMs: <milliseconds> } (a bare number is not read as seconds or as ms). The design's acquire(resource, ttlSeconds), which answers null when the resource is taken, is tryAcquire(resource, { ttlMs }).",
      { option: 'ttlMs' },
    );
  }
  checkAcquireShape(value);
  if (value !== undefined) signalOf(value as Record<string, unknown>);
}

const checkTryAcquireShape = optionsChecker({
  where: 'lock.tryAcquire() options',
  keys: ['ttlMs', 'signal'],
  hints: LOCK_HINTS,
  bareNumber: 'ttlMs',
});

/** Checks the options of `tryAcquire` (no `waitMs`: it never waits). */
export function checkTryAcquireOptions(value: unknown): void {
  checkTryAcquireShape(value);
  if (value !== undefined) signalOf(value as Record<string, unknown>);
}

const checkWithLockShape = optionsChecker({
  where: 'lock.withLock() options',
  keys: ['ttlMs', 'waitMs', 'signal', 'autoExtend'],
  hints: { ...LOCK_HINTS, extend: 'autoExtend', keepAlive: 'autoExtend' },
  bareNumber: 'ttlMs',
});

/** Checks the options of `withLock`. */
export function checkWithLockOptions(value: unknown): void {
  checkWithLockShape(value);
  if (value === undefined) return;
  signalOf(value as Record<string, unknown>);
  const autoExtend = (value as { autoExtend?: unknown }).autoExtend;
  if (autoExtend !== undefined && typeof autoExtend !== 'boolean') {
    throw new InvalidOptionsError('autoExtend must be a boolean', { option: 'autoExtend' });
  }
}

/**
 * The lease to release from the arguments of `release`: one lease, or the
 * design's shape `release(resource, lockId)` with the lease as the lock id
 * and its own resource. A string id is refused saying to pass the lease:
 * scaleout's owner token never leaves the lease.
 */
export function leaseToRelease(leaseOrResource: Lease | string, lease: Lease | undefined): Lease {
  if (typeof leaseOrResource !== 'string') {
    if (lease !== undefined) {
      throw new InvalidArgumentError('release takes one lease, or a resource and its lease', {
        argument: 'lease',
      });
    }
    return leaseOrResource;
  }
  if (typeof lease !== 'object' || lease === null) {
    throw new InvalidArgumentError(
      `release(resource, lease) takes the Lease that acquire() or tryAcquire() returned, got ${lease === null ? 'null' : typeof lease}: scaleout has no lock id to pass (the design's lockId is the lease), so call lock.release(lease) or lock.release(resource, lease)`,
      { argument: 'lease' },
    );
  }
  if ((lease as { resource?: unknown }).resource !== leaseOrResource) {
    throw new InvalidArgumentError('release(resource, lease): the lease holds another resource', {
      argument: 'resource',
    });
  }
  return lease;
}

/** The events of a lock or semaphore (see LockEvents). */
const LOCK_EVENTS: ReadonlySet<string> = new Set(['acquired', 'released', 'lost', 'error']);

/** Checks `lock.on(event, listener)`: unknown events and non-functions are refused. */
export const checkListener = listenerChecker(LOCK_EVENTS);
