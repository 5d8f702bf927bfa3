import type { DistributedCacheEvents } from '../cache/events.js';
import { InvalidArgumentError } from '../errors.js';
import { optionsChecker } from '../internal/validate.js';
import type { EventLabelValue, EventMetricMapping } from './event-metrics.js';

/**
 * Options of {@link PerformanceMonitor.observeCache}.
 *
 * @example
 * ```ts
 * monitor.observeCache(cache, { name: 'catalog', namespaces: ['users', 'products'] });
 * ```
 */
export interface ObserveCacheOptions {
  /**
   * Namespaces to break the metrics down by (`cache.namespace(name)`; nested
   * ones as `'users:avatars'`): an event's key is matched against each
   * `name:` prefix, the longest first, and its metrics get
   * `namespace="<name>"`. Keys are never labels; keys outside every listed
   * namespace get no `namespace` label.
   * @default [] (no namespace label)
   */
  namespaces?: readonly string[];
  /**
   * Value of a `cache` label, to tell several caches apart in one monitor.
   * @default undefined (no `cache` label)
   */
  name?: string;
}

const checkObserveCacheOptions = optionsChecker({
  where: 'observeCache() options',
  keys: ['namespaces', 'name'],
  hints: { namespace: 'namespaces', prefixes: 'namespaces', cache: 'name', label: 'name' },
});

/**
 * The mappings {@link PerformanceMonitor.observeCache} gives to `observe()`
 * (source `cache`). Labels are bounded: the namespaces you list, the tier,
 * the stale reason, the failed operation, circuit states; never keys.
 *
 * | metric | type | labels |
 * | --- | --- | --- |
 * | `scaleout_cache_hits_total` | counter | `namespace`, `tier` (`l1`/`l2`) |
 * | `scaleout_cache_misses_total` | counter | `namespace` |
 * | `scaleout_cache_stale_total` | counter | `namespace`, `reason` |
 * | `scaleout_cache_refresh_duration_seconds` | histogram (its `_count`: loader runs) | `namespace`, `background`, `early` |
 * | `scaleout_cache_errors_total` | counter | `namespace`, `operation`, `dropped` |
 * | `scaleout_cache_circuit_transitions_total` | counter | `state` |
 * | `scaleout_cache_flushes_total` | counter | `reason` |
 *
 * Every series also carries `cache="<name>"` when `name` is set.
 *
 * @example
 * ```ts
 * monitor.observe(cache, 'cache', cacheMetricMappings({ namespaces: ['users'] }));
 * ```
 */
export function cacheMetricMappings(options: ObserveCacheOptions = {}): {
  readonly [K in keyof DistributedCacheEvents]: EventMetricMapping<DistributedCacheEvents[K]>;
} {
  checkObserveCacheOptions(options);
  const namespaces = options.namespaces ?? [];
  if (
    !Array.isArray(namespaces) ||
    namespaces.some((n) => typeof n !== 'string' || n.length === 0 || n.length > 256)
  ) {
    throw new InvalidArgumentError('namespaces must be a list of non-empty names', {
      argument: 'namespaces',
    });
  }
  const cache = options.name;
  if (cache !== undefined && (typeof cache !== 'string' || cache.length === 0 || cache.length > 256)) {
    throw new InvalidArgumentError('name must be a non-empty string', { argument: 'name' });
  }
  const prefixes = [...new Set(namespaces)]
    .sort((a, b) => b.length - a.length)
    .map((n) => [`${n}:`, n] as const);
  const namespaceOf = (key: string | undefined): string | undefined => {
    if (typeof key !== 'string') return undefined;
    for (const [prefix, name] of prefixes) if (key.startsWith(prefix)) return name;
    return undefined;
  };
  const labels = (key: string | undefined, extra: Record<string, EventLabelValue> = {}) => ({
    cache,
    namespace: namespaceOf(key),
    ...extra,
  });
  return {
    hit: {
      name: 'hits',
      labels: (e) => labels(e.key, { tier: e.tier }),
      help: 'Cache lookups that found a fresh value, by tier (l1 in-process, l2 adapter).',
    },
    miss: {
      name: 'misses',
      labels: (e) => labels(e.key),
      help: 'Cache lookups that found no fresh value.',
    },
    stale: {
      labels: (e) => labels(e.key, { reason: e.reason }),
      help: 'Stale values served, by reason.',
    },
    refresh: {
      durationMs: (e) => e.durationMs,
      labels: (e) => labels(e.key, { background: e.background, early: e.early }),
      help: 'Duration of cache loader runs whose value was stored; _count counts them.',
    },
    error: {
      name: 'errors',
      labels: (e) => labels(e.key, { operation: e.operation, dropped: e.dropped }),
      help: 'Cache failures that did not reach the caller, by operation; dropped: a write was lost.',
    },
    circuit: {
      name: 'circuit_transitions',
      labels: (e) => ({ cache, state: e.state }),
      help: 'State changes of the circuit around the cache adapter, by new state.',
    },
    flush: {
      name: 'flushes',
      labels: (e) => ({ cache, reason: e.reason }),
      help: 'Flushes of the in-process cache tier, by reason.',
    },
  };
}
