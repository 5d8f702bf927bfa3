/**
 * Hostile input for the client area: fast-check feeds every public method
 * and constructor of ServiceClient, the resilience policies exported by
 * scaleout (CircuitBreaker, RetryPolicy, Bulkhead, RetryBudget,
 * TimeoutPolicy, wrap, fullJitterBackoff, readDeadline, parseRetryAfterMs,
 * RegistryUpstreamSource) and jsonSerializer wrong types, unknown option
 * keys, bare numbers where options go, and huge or hostile values (long
 * strings, control characters, `__proto__` keys, NaN/Infinity/-0/2^53+,
 * deep and circular objects, Map/Set/Date/BigInt, functions). Each input
 * ends in a documented success or a typed ScaleoutError with a code: never
 * a raw TypeError, a crash, a hang or an unhandled rejection. Calls that
 * reach the network go to one loopback server.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDeadline } from '../../src/client/deadline.js';
import { RegistryUpstreamSource } from '../../src/client/registry-upstream-source.js';
import { parseRetryAfterMs } from '../../src/client/retry-after.js';
import { ServiceClient } from '../../src/client/service-client.js';
import { isScaleoutError } from '../../src/errors.js';
import { fullJitterBackoff } from '../../src/resilience/backoff.js';
import { Bulkhead } from '../../src/resilience/bulkhead.js';
import { CircuitBreaker } from '../../src/resilience/circuit-breaker.js';
import type { Policy } from '../../src/resilience/policy.js';
import { RetryBudget } from '../../src/resilience/retry-budget.js';
import { RetryPolicy } from '../../src/resilience/retry-policy.js';
import { TimeoutPolicy } from '../../src/resilience/timeout-policy.js';
import { wrap } from '../../src/resilience/wrap.js';
import { jsonSerializer } from '../../src/serializer.js';

// ---- hostile values ----

function circular(): Record<string, unknown> {
  const o: Record<string, unknown> = { a: 1 };
  o.self = o;
  return o;
}

function deep(depth: number): unknown {
  let v: unknown = { leaf: true };
  for (let i = 0; i < depth; i++) v = { next: v };
  return v;
}

class Foreign {
  constructor(readonly x = 1) {}
}

const special = fc.constantFrom<unknown>(
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  -0,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53) - 2,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  1e21,
  0.5,
  -1,
  '',
  ' ',
  '\u0000',
  '\r\n',
  'x'.repeat(100_000),
  '\u202e\ud800',
  `http://127.0.0.1:1/x`,
  '//127.0.0.1:1/x',
  'data:text/plain,hi',
  1n,
  2n ** 70n,
  Symbol('s'),
  () => {},
  async () => {},
  new Map([['a', 1]]),
  new Set([1]),
  new Date(Number.NaN),
  new Date(0),
  new Foreign(),
  Object.create(null),
  JSON.parse('{"__proto__":{"admin":true}}'),
  JSON.parse('{"constructor":{"prototype":{"admin":true}}}'),
  circular(),
  deep(10_000),
  [],
  [undefined],
  new Uint8Array(4),
  new Error('boom'),
  Promise.resolve(1),
  null,
  undefined,
  true,
  false,
);

/** Any value, hostile ones weighted in. */
const hostile: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: special },
  {
    weight: 2,
    arbitrary: fc.anything({
      withBigInt: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withNullPrototype: true,
      withTypedArray: true,
      withSparseArray: true,
      withBoxedValues: true,
    }),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 64 }) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.integer() },
);

/** An options object: known keys (with hostile values), unknown keys, or not an object at all. */
function optionsOf(
  known: readonly string[],
  nested: Record<string, fc.Arbitrary<unknown>> = {},
): fc.Arbitrary<unknown> {
  const key = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...known) },
    { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  );
  const record = fc
    .array(fc.tuple(key, hostile), { maxLength: 4 })
    .chain((entries) =>
      fc.tuple(
        fc.constant(entries),
        ...Object.entries(nested).map(([name, arb]) =>
          fc.option(
            arb.map((v) => [name, v] as const),
            { nil: undefined },
          ),
        ),
      ),
    )
    .map(([entries, ...extra]) => {
      const o: Record<string, unknown> = {};
      for (const [k, v] of entries as Array<[string, unknown]>) o[k] = v;
      for (const e of extra) if (e !== undefined) o[e[0]] = e[1];
      return o;
    });
  return fc.oneof(
    { weight: 4, arbitrary: record },
    { weight: 1, arbitrary: hostile },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

// ---- harness ----

/** Inputs tried per primitive (printed at the end, for the report). */
const tried = new Map<string, number>();
/** Of those, how many ended in a value (the rest in typed errors). */
const succeeded = new Map<string, number>();
let served = 0;
const crashes: string[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

/** The crashes recorded since `from`, each message once. */
function crashesSince(from: number): string[] {
  return [...new Set(crashes.slice(from))];
}

/** Runs `fn`: a value, or a typed error, within `limitMs`; anything else is recorded as a crash. */
async function judge(primitive: string, fn: () => unknown, limitMs = 5_000): Promise<void> {
  tried.set(primitive, (tried.get(primitive) ?? 0) + 1);
  let timer: NodeJS.Timeout | undefined;
  try {
    const result = fn();
    if (
      result instanceof Promise ||
      (typeof result === 'object' &&
        result !== null &&
        typeof (result as Promise<unknown>).then === 'function')
    ) {
      await Promise.race([
        result,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`HANG: no answer within ${limitMs} ms`)), limitMs);
        }),
      ]);
    }
    succeeded.set(primitive, (succeeded.get(primitive) ?? 0) + 1);
  } catch (err) {
    if (!isScaleoutError(err) || typeof err.code !== 'string') {
      crashes.push(
        `${primitive}: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`.slice(0, 300),
      );
    }
  } finally {
    clearTimeout(timer);
  }
}

let server: Server;
let baseUrl: string;

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  server = createServer((req, res) => {
    served++;
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  process.off('unhandledRejection', onUnhandled);
  const table = Object.fromEntries([...tried.entries()].sort());
  // The counts go into the report of issue 16.
  console.log(`client hostile inputs tried: ${JSON.stringify(table)}; crashes: ${crashes.length}`);
  console.log(
    `of which succeeded: ${JSON.stringify(Object.fromEntries([...succeeded.entries()].sort()))}; requests served: ${served}`,
  );
});

const CLIENT_KEYS = [
  'axios',
  'attemptTimeoutMs',
  'deadlineMs',
  'retry',
  'retryBudget',
  'breaker',
  'bulkhead',
  'maxRedirects',
  'maxSockets',
  'absoluteUrls',
  'maxResponseBytes',
  'requestConfigKeys',
  'logger',
  'clock',
];
const REQUEST_KEYS = [
  'params',
  'headers',
  'data',
  'timeout',
  'responseType',
  'validateStatus',
  'maxRedirects',
  'maxContentLength',
  'proxy',
  'auth',
  'signal',
  'decompress',
  'transformResponse',
  'paramsSerializer',
  'url',
  'method',
  'baseURL',
  'idempotencyKey',
  'deadlineMs',
  'attemptTimeoutMs',
  'deadlineAt',
  'retries',
];

/** A per-call config; plain-object ones get a deadline 2 s out, so no input can make a call run for long. */
const requestConfig = optionsOf(REQUEST_KEYS).map((c) => {
  if (typeof c === 'object' && c !== null && Object.getPrototypeOf(c) === Object.prototype) {
    return { ...(c as object), deadlineAt: Date.now() + 2_000 };
  }
  return c;
});

const quick = {
  retry: { maxAttempts: 2, backoff: { baseMs: 1, maxMs: 5 } },
  attemptTimeoutMs: 500,
  deadlineMs: 1_500,
};

describe('hostile input: ServiceClient', () => {
  it('constructor: any target and any options', async () => {
    const from = crashes.length;
    const target = fc.oneof(
      hostile,
      fc.record({ baseUrl: fc.oneof(hostile, fc.constant(baseUrl), fc.webUrl()) }),
      fc.record({ service: hostile, registry: fc.oneof(hostile, fc.constant({ pick: () => undefined })) }),
      fc.record({ baseURL: fc.constant(baseUrl) }),
    );
    const options = optionsOf(CLIENT_KEYS, {
      retry: optionsOf(['maxAttempts', 'backoff', 'retryOnStatus']),
      breaker: optionsOf(['consecutiveFailures', 'openMs', 'isFailure', 'halfOpenProbes']),
      bulkhead: optionsOf(['maxConcurrent', 'maxQueue']),
      retryBudget: optionsOf(['ratio', 'maxTokens', 'clock']),
    });
    await fc.assert(
      fc.asyncProperty(target, options, async (t, o) => {
        await judge('ServiceClient constructor', async () => {
          const client = new ServiceClient(t as never, o as never);
          await client.close();
        });
      }),
      { numRuns: 1_000 },
    );
    expect(crashesSince(from)).toEqual([]);
  });

  it('get / delete / post / put / patch / request / requestResponse: any url, body and config', async () => {
    const from = crashes.length;
    const client = new ServiceClient({ baseUrl }, quick);
    const url = fc.oneof(hostile, fc.constantFrom('/x', '', 'items/1', '/a?b=c'), fc.webPath());
    const calls: Array<[string, fc.Arbitrary<() => Promise<unknown>>]> = [
      [
        'ServiceClient.get',
        fc.tuple(url, requestConfig).map(
          ([u, c]) =>
            () =>
              client.get(u as string, c as never),
        ),
      ],
      [
        'ServiceClient.delete',
        fc.tuple(url, requestConfig).map(
          ([u, c]) =>
            () =>
              client.delete(u as string, c as never),
        ),
      ],
      [
        'ServiceClient.post',
        fc.tuple(url, hostile, requestConfig).map(
          ([u, d, c]) =>
            () =>
              client.post(u as string, d, c as never),
        ),
      ],
      [
        'ServiceClient.put',
        fc.tuple(url, hostile, requestConfig).map(
          ([u, d, c]) =>
            () =>
              client.put(u as string, d, c as never),
        ),
      ],
      [
        'ServiceClient.patch',
        fc.tuple(url, hostile, requestConfig).map(
          ([u, d, c]) =>
            () =>
              client.patch(u as string, d, c as never),
        ),
      ],
      [
        'ServiceClient.request (method, path, config)',
        fc
          .tuple(fc.oneof(hostile, fc.constantFrom('get', 'post', 'DELETE', 'options')), url, requestConfig)
          .map(
            ([m, u, c]) =>
              () =>
                client.request(m as string, u as string, c as never),
          ),
      ],
      ['ServiceClient.request (config)', requestConfig.map((c) => () => client.request(c as never))],
      ['ServiceClient.requestResponse', requestConfig.map((c) => () => client.requestResponse(c as never))],
    ];
    for (const [name, arb] of calls) {
      await fc.assert(
        fc.asyncProperty(arb, async (call) => {
          await judge(name, call);
        }),
        { numRuns: 200 },
      );
    }
    // The client still works after all that.
    expect(await client.get('/after')).toEqual({ ok: true });
    await client.close();
    expect(crashesSince(from)).toEqual([]);
  });

  it('on / off / breakerState / close: any arguments', async () => {
    const from = crashes.length;
    const client = new ServiceClient({ baseUrl }, quick);
    const event = fc.oneof(
      hostile,
      fc.constantFrom(
        'attempt',
        'retry',
        'breaker-state-change',
        'retry-budget-exhausted',
        'breakerStateChange',
        'retryBudgetExhausted',
      ),
    );
    const listener = fc.oneof(
      hostile,
      fc.constant(() => {}),
    );
    await fc.assert(
      fc.asyncProperty(event, listener, hostile, async (e, l, id) => {
        await judge('ServiceClient.on', () => client.on(e as never, l as never)());
        await judge('ServiceClient.off', () => client.off(e as never, l as never));
        await judge('ServiceClient.breakerState', () => client.breakerState(id as never));
      }),
      { numRuns: 300 },
    );
    await judge('ServiceClient.close', () => client.close());
    await judge('ServiceClient.close', () => client.close());
    expect(crashesSince(from)).toEqual([]);
  });

  it('a registry that hands out hostile instances', async () => {
    const from = crashes.length;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            hostile,
            fc.record({ id: hostile, url: hostile }),
            fc.record({ id: fc.string(), url: fc.constant(baseUrl) }),
          ),
          {
            maxLength: 4,
          },
        ),
        async (instances) => {
          let i = 0;
          const registry = { pick: () => instances[i++ % Math.max(1, instances.length)] };
          const client = new ServiceClient({ service: 'inventory', registry: registry as never }, quick);
          await judge('ServiceClient via a hostile UpstreamSource', () => client.get('/x'));
          await client.close();
        },
      ),
      { numRuns: 300 },
    );
    expect(crashesSince(from)).toEqual([]);
  });
});

describe('hostile input: resilience policies', () => {
  const fnArb = fc.oneof(
    hostile,
    fc.constantFrom(
      () => 1,
      async () => 2,
      () => {
        throw new Error('work failed');
      },
      async () => {
        throw new TypeError('the work threw this, not scaleout');
      },
    ),
  );
  const signal = fc.oneof(
    hostile,
    fc.constant(AbortSignal.abort()),
    fc.constant(new AbortController().signal),
  );

  /** Runs a policy's execute; errors thrown by the work itself are the work's, not the policy's. */
  async function execute(name: string, policy: () => Policy, fn: unknown, s: unknown): Promise<void> {
    await judge(name, async () => {
      try {
        return await policy().execute(fn as never, s as never);
      } catch (err) {
        if (
          err instanceof Error &&
          (err.message === 'work failed' || err.message.startsWith('the work threw'))
        )
          return;
        throw err;
      }
    });
  }

  const policies: Array<[string, readonly string[], (o: unknown) => Policy]> = [
    [
      'CircuitBreaker',
      [
        'consecutiveFailures',
        'failureRateThreshold',
        'windowMs',
        'minimumRequests',
        'openMs',
        'maxOpenMs',
        'halfOpenProbes',
        'isFailure',
        'onStateChange',
        'clock',
      ],
      (o) => new CircuitBreaker(o as never),
    ],
    ['Bulkhead', ['maxConcurrent', 'maxQueue'], (o) => new Bulkhead(o as never)],
    [
      'RetryPolicy',
      ['maxAttempts', 'backoff', 'budget', 'shouldRetry', 'retryAfterMs', 'onRetry', 'clock'],
      (o) => new RetryPolicy(o as never),
    ],
    ['TimeoutPolicy', ['timeoutMs'], (o) => new TimeoutPolicy(o as never)],
  ];
  for (const [name, keys, make] of policies) {
    it(`${name}: constructor and execute`, async () => {
      const from = crashes.length;
      await fc.assert(
        fc.asyncProperty(optionsOf(keys), fnArb, signal, async (options, fn, s) => {
          await judge(`${name} constructor`, () => make(options));
          // A policy the test could build: execute it with hostile work and signals (short limits).
          let policy: Policy;
          try {
            policy = make(options);
          } catch {
            policy = make(
              name === 'TimeoutPolicy'
                ? { timeoutMs: 50 }
                : name === 'RetryPolicy'
                  ? { maxAttempts: 2, backoff: { baseMs: 1, maxMs: 2 } }
                  : {},
            );
          }
          // A policy built from valid options may legitimately run long (100 attempts of a failing
          // work, a backoff of minutes): bound it with a deadline signal, so only a policy that
          // ignores its signal counts as a hang. A hostile non-signal is passed as it came.
          const bounded =
            s === undefined
              ? AbortSignal.timeout(1_000)
              : s instanceof AbortSignal
                ? AbortSignal.any([s, AbortSignal.timeout(1_000)])
                : s;
          await execute(`${name}.execute`, () => policy, fn, bounded);
        }),
        { numRuns: 300 },
      );
      expect(crashesSince(from)).toEqual([]);
    });
  }

  it('CircuitBreaker.acquire/release/reset/state, Bulkhead.acquire, RetryBudget, wrap, fullJitterBackoff', async () => {
    const from = crashes.length;
    await fc.assert(
      fc.asyncProperty(
        hostile,
        hostile,
        optionsOf(['ratio', 'minRetriesPerSecond', 'maxTokens', 'clock']),
        optionsOf(['baseMs', 'maxMs', 'random']),
        async (a, b, budgetOptions, backoffOptions) => {
          const breaker = new CircuitBreaker();
          await judge('CircuitBreaker.release', () => breaker.release(a as never, b as never));
          await judge('CircuitBreaker.acquire/release', () => breaker.release(breaker.acquire(), b as never));
          await judge('CircuitBreaker.reset/state', () => {
            breaker.reset();
            return breaker.state;
          });
          await judge('Bulkhead.acquire', async () => {
            const release = await new Bulkhead({ maxConcurrent: 1, maxQueue: 0 }).acquire(a as never);
            release();
          });
          await judge('RetryBudget', () => {
            const budget = new RetryBudget(budgetOptions as never);
            budget.recordRequest();
            return [budget.tryRetry(), budget.tokens];
          });
          await judge('wrap', () => wrap(a as never, new Bulkhead()).execute(() => 1));
          await judge('RetryPolicy.execute deadlineAt', () =>
            new RetryPolicy({ budget: false }).execute(() => 1, undefined, a as never),
          );
          await judge('fullJitterBackoff', () => {
            const backoff = fullJitterBackoff(backoffOptions as never);
            return [backoff(a as number), backoff(5), backoff(10_000)];
          });
        },
      ),
      { numRuns: 500 },
    );
    expect(crashesSince(from)).toEqual([]);
  });

  it('readDeadline, parseRetryAfterMs, RegistryUpstreamSource', async () => {
    const from = crashes.length;
    await fc.assert(
      fc.asyncProperty(
        hostile,
        hostile,
        fc.oneof(hostile, fc.record({ headers: hostile })),
        async (a, b, request) => {
          await judge('readDeadline', () => readDeadline(request as never, b as never));
          await judge('readDeadline', () =>
            readDeadline({ headers: { 'x-request-deadline-ms': a as string } }),
          );
          await judge('parseRetryAfterMs', () => parseRetryAfterMs(a, b as never));
          await judge('RegistryUpstreamSource', async () => {
            const source = new RegistryUpstreamSource(a as never);
            return source.pick(b as string, { exclude: new Set() });
          });
        },
      ),
      { numRuns: 500 },
    );
    expect(crashesSince(from)).toEqual([]);
  });
});

/** Where `value` holds an own `__proto__` key or a `constructor.prototype` (checked independently of the library). */
function pollutionAt(value: unknown, path = '$', seen = new Set<object>()): string | undefined {
  if (typeof value !== 'object' || value === null || seen.has(value)) return undefined;
  seen.add(value);
  if (Object.hasOwn(value, '__proto__')) return `${path}.__proto__`;
  const ctor = (value as { constructor?: unknown }).constructor;
  if (
    Object.hasOwn(value, 'constructor') &&
    typeof ctor === 'object' &&
    ctor !== null &&
    Object.hasOwn(ctor, 'prototype')
  ) {
    return `${path}.constructor.prototype`;
  }
  for (const key of Object.keys(value)) {
    const found = pollutionAt((value as Record<string, unknown>)[key], `${path}.${key}`, seen);
    if (found !== undefined) return found;
  }
  return undefined;
}

describe('hostile input: jsonSerializer', () => {
  it('serialize: any value; deserialize: any text, any JSON, escaped pollution keys', async () => {
    const from = crashes.length;
    const escapedKey = fc
      .tuple(
        fc.constantFrom('__proto__', 'prototype', 'constructor'),
        fc.array(fc.boolean(), { minLength: 11, maxLength: 11 }),
        fc.boolean(),
      )
      .map(([key, mask, upper]) =>
        [...key]
          .map((c, i) => {
            if (!mask[i]) return c;
            const hex = c.charCodeAt(0).toString(16).padStart(4, '0');
            return `\\u${upper ? hex.toUpperCase() : hex}`;
          })
          .join(''),
      );
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.json(),
      fc.tuple(escapedKey, fc.json()).map(([k, v]) => `{"${k}":${v}}`),
      fc.tuple(escapedKey, escapedKey).map(([k, p]) => `[{"a":{"${k}":{"${p}":{"admin":true}}}}]`),
      escapedKey.map((k) => `{"${k}":{"admin":true}}`),
      hostile,
    );
    await fc.assert(
      fc.asyncProperty(hostile, text, async (value, t) => {
        await judge('jsonSerializer.serialize', () => jsonSerializer.serialize(value));
        await judge('jsonSerializer.deserialize', () => {
          const parsed = jsonSerializer.deserialize(t as string);
          // Whatever was accepted carries no pollution key at any depth.
          expect(pollutionAt(parsed)).toBeUndefined();
          return parsed;
        });
      }),
      { numRuns: 2_000 },
    );
    expect(crashesSince(from)).toEqual([]);
    expect(({} as { admin?: unknown }).admin).toBeUndefined();
  });

  it('no unhandled rejection in the whole file', async () => {
    await new Promise((r) => setTimeout(r, 50));
    expect(unhandled).toEqual([]);
  });
});
