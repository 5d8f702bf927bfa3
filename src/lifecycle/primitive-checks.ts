import { randomBytes } from 'node:crypto';
import { type Clock, systemClock } from '../types.js';
import type { HealthCheck } from './health-checks.js';

/** A background failure this recent fails the check, ms (a heartbeat or a read is retried well within it). */
const RECENT_FAILURE_MS = 5_000;

type Listen = (event: string, listener: (payload: never) => void) => unknown;

interface CacheLike {
  readonly circuitState: 'closed' | 'open' | 'half-open';
  readonly busState?: string;
  ready(): Promise<void>;
}

function isCache(value: object): value is CacheLike {
  const c = value as Partial<CacheLike>;
  return typeof c.circuitState === 'string' && typeof c.ready === 'function';
}

function isRegistry(value: object): boolean {
  const r = value as { trackCall?: unknown; watch?: unknown; on?: unknown; register?: unknown };
  return (
    typeof r.trackCall === 'function' &&
    typeof r.watch === 'function' &&
    typeof r.register === 'function' &&
    typeof r.on === 'function'
  );
}

function isQueue(value: object): boolean {
  const q = value as { consume?: unknown; publish?: unknown; on?: unknown };
  return typeof q.consume === 'function' && typeof q.publish === 'function' && typeof q.on === 'function';
}

interface SessionStoreLike {
  get(id: string): Promise<unknown>;
}

function isSessionStore(value: object): value is SessionStoreLike {
  const s = value as { get?: unknown; touch?: unknown; regenerate?: unknown; destroyAllForUser?: unknown };
  return (
    typeof s.get === 'function' &&
    typeof s.touch === 'function' &&
    typeof s.regenerate === 'function' &&
    typeof s.destroyAllForUser === 'function'
  );
}

interface LockLike {
  tryAcquire(resource: string, options: { ttlMs: number }): Promise<unknown>;
  release(lease: never): Promise<boolean>;
}

function isLock(value: object): value is LockLike {
  const l = value as { tryAcquire?: unknown; withLock?: unknown; release?: unknown };
  return (
    typeof l.tryAcquire === 'function' && typeof l.withLock === 'function' && typeof l.release === 'function'
  );
}

function isDegradable(value: object): value is { readonly degraded: boolean } {
  return typeof (value as { degraded?: unknown }).degraded === 'boolean';
}

/** Remembers the last background failure a primitive reported through its `error` event. */
function recentFailures(
  on: Listen,
  event: string,
  clock: Clock,
  matches: (payload: { operation?: string; id?: unknown }) => boolean,
): () => number {
  let last = Number.NEGATIVE_INFINITY;
  on.call(undefined, event, ((payload: { operation?: string; id?: unknown }) => {
    if (matches(payload)) last = clock.monotonic();
  }) as (payload: never) => void);
  return () => last;
}

/**
 * @internal The readiness check a managed primitive's own state gives, or
 * `undefined` when it has none:
 * - a cache: its circuit around the store is not open, and its
 *   invalidation bus is subscribed (`cache.ready()`) and not disconnected
 *   since (`cache.busState`: the Redis adapter reports its subscriber
 *   connection lost, even with no traffic to open the circuit);
 * - a registry: no heartbeat failed and no registration was taken over in
 *   the last 5 s (its `error` and `lease` events);
 * - a message queue: its connection is up (`queue.connectionState`:
 *   `connected`, or `idle` before first use; `disconnected`, `connecting`
 *   and `closed` fail), and the back end was readable in the last 5 s (no
 *   consumer `error` without a message id);
 * - a session store: its store answers a read (a random id, absent);
 * - a lock or semaphore: its store answers a `tryAcquire` of a resource of
 *   this check's own (released at once; held elsewhere still means reachable);
 * - a rate limiter: shown (`degraded`), never failing (it keeps limiting
 *   locally).
 *
 * "Recent" is measured on `clock.monotonic()` (the lifecycle's clock).
 *
 * @example
 * ```ts
 * const check = primitiveCheck(cache);
 * ```
 */
export function primitiveCheck(resource: object, clock: Clock = systemClock): HealthCheck | undefined {
  if (isCache(resource)) {
    return async () => {
      const circuit = resource.circuitState;
      if (circuit === 'open') throw new Error('the circuit around the cache store is open');
      if (resource.busState === 'disconnected') {
        throw new Error('the cache invalidation bus is disconnected: writes of other instances are missed');
      }
      await resource.ready();
      return { circuit, bus: 'subscribed' };
    };
  }
  if (isRegistry(resource)) {
    const on = (resource as { on: Listen }).on.bind(resource);
    const heartbeat = recentFailures(on, 'error', clock, (p) => p.operation === 'heartbeat');
    const taken = recentFailures(on, 'lease', clock, (p) => (p as { status?: string }).status === 'taken');
    return () => {
      const now = clock.monotonic();
      if (now - heartbeat() < RECENT_FAILURE_MS) throw new Error('a registry heartbeat failed recently');
      if (now - taken() < RECENT_FAILURE_MS)
        throw new Error('a registration was taken over by another process');
      return { leases: 'renewed' };
    };
  }
  if (isQueue(resource)) {
    const on = (resource as { on: Listen }).on.bind(resource);
    const unreadable = recentFailures(on, 'error', clock, (p) => p.id === undefined);
    return () => {
      // The adapter's own connection state (nothing sent), when it reports one.
      const state = (resource as { connectionState?: unknown }).connectionState;
      if (state === 'disconnected' || state === 'connecting' || state === 'closed') {
        throw new Error(`the queue connection is ${state}`);
      }
      if (clock.monotonic() - unreadable() < RECENT_FAILURE_MS) {
        throw new Error('the queue back end could not be read recently');
      }
      return { connection: typeof state === 'string' && state !== 'unknown' ? state : 'ok' };
    };
  }
  if (isSessionStore(resource)) {
    return async () => {
      await resource.get(randomBytes(32).toString('base64url'));
      return { store: 'reachable' };
    };
  }
  if (isLock(resource)) {
    const probe = `scaleout-health:${randomBytes(8).toString('hex')}`;
    return async () => {
      const lease = await resource.tryAcquire(probe, { ttlMs: 1_000 });
      if (lease !== null && lease !== undefined) await resource.release(lease as never).catch(() => false);
      return { store: 'reachable' };
    };
  }
  if (isDegradable(resource)) {
    return () => ({ degraded: resource.degraded });
  }
  return undefined;
}
