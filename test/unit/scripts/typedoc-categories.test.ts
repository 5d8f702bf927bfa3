import { describe, expect, it } from 'vitest';
// @ts-expect-error a plain-JS typedoc plugin without types
import { categoryOf } from '../../../scripts/typedoc-categories.mjs';

describe('scripts/typedoc-categories', () => {
  it('files each source under the primitive it belongs to', () => {
    const cases: Record<string, string> = {
      'src/errors.ts': 'Errors',
      'src/types.ts': 'Shared',
      'src/cache/distributed-cache.ts': 'Cache',
      'src/adapters/memory/memory-cache-adapter.ts': 'Cache',
      'src/adapters/redis/redlock.ts': 'Lock',
      'src/adapters/memory/memory-rate-limit-adapter.ts': 'Rate limiter',
      'src/adapters/redis/jwt-denylist.ts': 'JWT and authorize',
      'src/monitor/cache-metrics.ts': 'Monitor',
      'src/adapters/amqp/amqp-queue-adapter.ts': 'Queue',
      'src/adapters/redis/connection.ts': 'Redis plumbing',
      'src/resilience/circuit-breaker.ts': 'Resilience',
      'src/testing/cache-adapter-conformance.ts': 'Conformance suites',
      'src/client/registry-upstream-source.ts': 'Registry',
    };
    for (const [path, category] of Object.entries(cases)) expect(categoryOf(path), path).toBe(category);
  });
});
