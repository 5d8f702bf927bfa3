/**
 * Property tests: every public method and constructor of ServiceRegistry
 * (and its adapters' factories) fed hostile input: service names of every
 * kind, URLs of every scheme, weights, metadata, TTLs, bare numbers where
 * options go, unknown keys, every JavaScript type. Each call returns or
 * fails with a typed ScaleoutError with a code; never a raw TypeError, a
 * hang or an unhandled rejection; and whatever was accepted, the registry
 * only ever hands out http(s) instances whose string form is their URL.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryRegistryAdapter } from '../../src/adapters/memory/registry.js';
import { redisRegistryAdapter } from '../../src/adapters/redis/registry.js';
import { isWellFormed } from '../../src/internal/validate.js';
import { HealthChecker } from '../../src/registry/health-checker.js';
import { ServiceRegistry } from '../../src/registry/service-registry.js';
import { uniquePrefix } from '../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { loneSurrogateString, outcomeOf } from './arbitraries.js';
import {
  anyUrl,
  count,
  hostile,
  hostileOptions,
  hostileString,
  tried,
  typedOutcome,
} from './registry-monitor-values.js';

const REGISTRY_KEYS = [
  'adapter',
  'balancer',
  'ttlMs',
  'heartbeatIntervalMs',
  'resyncIntervalMs',
  'operationTimeoutMs',
  'healthCheck',
  'outlierDetection',
  'panicThresholdPercent',
  'slowStartMs',
  'deregisterOnClose',
  'logger',
  'clock',
];
const serviceName = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom('svc', 'other', 'a:b{c}', 'zahlungs-dienst-ü', '{', 'x'.repeat(256)),
  },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }) },
  { weight: 1, arbitrary: hostileString },
  { weight: 1, arbitrary: hostile },
);
/** Mostly loopback http(s) URLs that register accepts (paths, trailing slashes, IPv6), then every other kind. */
const url = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.constantFrom('http', 'https', 'HTTP'),
        fc.constantFrom('127.0.0.1', '[::1]', 'localhost', '127.1.2.3'),
        fc.integer({ min: 1, max: 65_535 }),
        fc.webPath(),
        fc.boolean(),
      )
      .map(([scheme, host, port, path, slash]) => `${scheme}://${host}:${port}${path}${slash ? '/' : ''}`),
  },
  { weight: 2, arbitrary: anyUrl },
);
const validRegisterOptions = fc.record(
  {
    weight: fc.double({ min: 0.001, max: 1_000_000, noNaN: true }),
    metadata: fc.dictionary(fc.string({ maxLength: 20 }), fc.string({ maxLength: 50 }), { maxKeys: 5 }),
    ttlMs: fc.integer({ min: 1_000, max: 86_400_000 }),
  },
  { requiredKeys: [] },
);
const anyRegisterOptions = hostileOptions(
  ['weight', 'metadata', 'ttlMs'],
  fc.oneof(
    fc.integer({ min: -5, max: 200_000 }),
    fc.double(),
    fc.dictionary(fc.string({ maxLength: 5 }), fc.oneof(fc.string({ maxLength: 5 }), hostile), {
      maxKeys: 70,
    }),
  ),
);
const registerOptions = fc.oneof(
  { weight: 2, arbitrary: validRegisterOptions },
  { weight: 1, arbitrary: anyRegisterOptions },
);
const pickOptions = hostileOptions(
  ['exclude'],
  fc.oneof(fc.array(fc.string()), fc.constant(new Set(['x'])), hostile),
);

/** Every registry here checks health with a function: nothing leaves loopback, whatever URL was registered. */
const noNetwork = { check: async () => true, intervalMs: 3_600_000 };

function assertOnlyHttpInstances(instances: ReadonlyArray<{ url: string; id: string }>): void {
  for (const i of instances) {
    expect(i.id).toMatch(/^https?:\/\//);
    expect(String(i)).toBe(i.url);
    expect(i.url.endsWith('/')).toBe(false);
    expect(`${i}/x`.endsWith('//x')).toBe(false);
    expect(new URL(`${i}/x`).pathname.endsWith('/x')).toBe(true);
  }
}

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
  // The closing note of the suite: inputs tried per primitive.
  console.log(`registry hostile inputs tried: ${JSON.stringify(Object.fromEntries(tried))}`);
});

describe('ServiceRegistry under hostile input', () => {
  it('constructor and adapter factories: a registry, or a typed error', async () => {
    await fc.assert(
      fc.asyncProperty(hostileOptions(REGISTRY_KEYS), async (options) => {
        count('ServiceRegistry constructor');
        let registry: ServiceRegistry | undefined;
        await typedOutcome(() => {
          registry = new ServiceRegistry(options as never);
        });
        await registry?.close();
      }),
      { numRuns: 400 },
    );
    await fc.assert(
      fc.asyncProperty(
        hostileOptions(['path', 'intervalMs', 'timeoutMs', 'concurrency', 'check']),
        async (options) => {
          count('HealthChecker constructor');
          let checker: HealthChecker | undefined;
          await typedOutcome(() => {
            checker = new HealthChecker(options as never);
          });
          checker?.close();
        },
      ),
      { numRuns: 200 },
    );
    await fc.assert(
      fc.asyncProperty(hostileOptions(['clock']), async (options) => {
        count('memoryRegistryAdapter');
        await typedOutcome(() => memoryRegistryAdapter(options as never).close());
      }),
      { numRuns: 200 },
    );
    // Never a connection string or options ioredis would dial: only what must be refused before any I/O.
    const noDial = fc
      .oneof(hostile, hostileString)
      .filter(
        (c) => !(typeof c === 'string' && /^rediss?:\/\//.test(c)) && !(typeof c === 'object' && c !== null),
      );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.record({ connection: noDial }, { requiredKeys: [] }),
          fc.record({ connection: noDial, prefix: hostile }, { requiredKeys: [] }),
          fc.constant({ connection: 'redis://127.0.0.1:1', keyPrefix: 'x' }),
          hostileOptions(['prefix']).filter(
            (o) => typeof o !== 'object' || o === null || !('connection' in o),
          ),
        ),
        async (options) => {
          count('redisRegistryAdapter');
          const err = await typedOutcome(() => redisRegistryAdapter(options as never));
          expect(err).toBeDefined(); // none of these can make an adapter
        },
      ),
      { numRuns: 200 },
    );
  });

  it('every method, on the memory adapter: returns or a typed error, and only http(s) instances are ever handed out', async () => {
    const adapter = memoryRegistryAdapter();
    const registry = new ServiceRegistry({ adapter, healthCheck: noNetwork, operationTimeoutMs: 1_000 });
    const services = new Set<string>(['svc']);
    const call = fc.oneof(
      fc.tuple(fc.constant('register'), serviceName, url, registerOptions),
      fc.tuple(
        fc.constant('deregister'),
        serviceName,
        url,
        fc.oneof(fc.constant(undefined), fc.constant(undefined), hostile),
      ),
      fc.tuple(fc.constant('getServiceInstance'), serviceName, pickOptions),
      fc.tuple(fc.constant('pick'), serviceName, pickOptions),
      fc.tuple(fc.constant('startCall'), serviceName, pickOptions, hostile),
      fc.tuple(fc.constant('trackCall'), serviceName, hostile),
      fc.tuple(fc.constant('watch'), serviceName, fc.oneof(fc.constant(undefined), hostile)),
      fc.tuple(fc.constant('instances'), serviceName),
      fc.tuple(fc.constant('unwatch'), serviceName),
      fc.tuple(fc.constant('runHealthChecks'), fc.oneof(fc.constant(undefined), hostile)),
      fc.tuple(fc.constant('checkHealth')),
      fc.tuple(fc.constant('on'), fc.oneof(fc.constantFrom('change', 'error', 'chnage'), hostile), hostile),
      fc.tuple(fc.constant('off'), fc.oneof(fc.constantFrom('change', 'health'), hostile), hostile),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(call, { minLength: 1, maxLength: 8 }), async (calls) => {
        for (const [method, ...args] of calls) {
          count(`registry.${method}`);
          if (typeof args[0] === 'string') services.add(args[0]);
          await typedOutcome(async () => {
            if (method === 'startCall') {
              const c = registry.startCall(args[0] as string, args[1] as never);
              c.end(args[2] as never);
              return;
            }
            if (method === 'trackCall')
              return registry.trackCall(args[0] as string, args[1] as string)?.end({ outcome: 'success' });
            return (registry[method as 'register'] as (...a: unknown[]) => unknown)(...args);
          });
        }
      }),
      { numRuns: 400 },
    );
    // Whatever was accepted: the store and every view hold only valid http(s) instances.
    for (const service of services) {
      if (
        typeof service !== 'string' ||
        service.length === 0 ||
        service.length > 256 ||
        // biome-ignore lint/suspicious/noControlCharactersInRegex: names with control characters are refused, skip them
        /[\u0000-\u001f\u007f]/.test(service) ||
        !isWellFormed(service) // names with a lone surrogate too
      )
        continue;
      assertOnlyHttpInstances(await registry.instances(service));
      for (const lease of (await adapter.list(service)).instances)
        expect(lease.record.url).toMatch(/^https?:\/\//);
    }
    await registry.close();
    // After close: typed errors only.
    for (const run of [
      () => registry.register('svc', 'http://127.0.0.1:1'),
      () => registry.getServiceInstance('svc'),
      () => registry.pick('svc'),
      () => registry.runHealthChecks(),
    ]) {
      expect((await typedOutcome(run)) as { code?: string }).toMatchObject({ code: 'ERR_CLOSED' });
    }
  });

  it('register, pick and deregister on real Redis with hostile service names and URLs', async () => {
    const prefix = uniquePrefix('registry-hostile');
    const adapter = redisRegistryAdapter({ connection: redis.client(), prefix });
    const registry = new ServiceRegistry({ adapter, healthCheck: noNetwork, operationTimeoutMs: 2_000 });
    await fc.assert(
      fc.asyncProperty(serviceName, url, registerOptions, async (service, url, options) => {
        count('registry on Redis');
        const err = await typedOutcome(() =>
          registry.register(service as string, url as string, options as never),
        );
        if (err !== undefined) return;
        count('registry on Redis (accepted)');
        const instance = await registry.getServiceInstance(service as string);
        assertOnlyHttpInstances([instance]);
        expect(await registry.deregister(service as string, url as string)).toBe(true);
      }),
      { numRuns: 150 },
    );
    await registry.close();
    await adapter.close();
  });

  it('on real Redis, service names and URLs with a lone surrogate are refused (two would share one key)', async () => {
    const prefix = uniquePrefix('registry-surrogate');
    const adapter = redisRegistryAdapter({ connection: redis.client(), prefix });
    const registry = new ServiceRegistry({ adapter, healthCheck: noNetwork, operationTimeoutMs: 2_000 });
    await fc.assert(
      fc.asyncProperty(
        loneSurrogateString,
        fc.constantFrom('register', 'register url', 'deregister', 'watch', 'getServiceInstance', 'instances'),
        async (text, op) => {
          count('registry on Redis (lone surrogate)');
          const outcome = await outcomeOf(() => {
            if (op === 'register') return registry.register(text, 'http://127.0.0.1:4001');
            if (op === 'register url') return registry.register('svc', `http://127.0.0.1:4001/${text}`);
            if (op === 'deregister') return registry.deregister(text, 'http://127.0.0.1:4001');
            if (op === 'watch') return registry.watch(text);
            if (op === 'getServiceInstance') return registry.getServiceInstance(text);
            return registry.instances(text);
          });
          expect(outcome).toBe('ERR_INVALID_ARGUMENT');
        },
      ),
      { numRuns: 150 },
    );
    await registry.close();
    await adapter.close();
  });
});
