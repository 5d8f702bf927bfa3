/**
 * ServiceClient vs axios-retry and cockatiel, each at its defaults and tuned,
 * against a real fake upstream on loopback: behaviour under faults (success
 * rate, load amplification, duplicate side effects, slowest call, recovery
 * after a restart), then overhead per call vs raw axios and breaker overhead.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Agent, createServer, type IncomingMessage } from 'node:http';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import axios, {
  type AxiosError,
  type AxiosInstance,
  type AxiosResponse,
  type CreateAxiosDefaults,
  type InternalAxiosRequestConfig,
} from 'axios';
import axiosRetry, { exponentialDelay, isIdempotentRequestError } from 'axios-retry';
import {
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleAll,
  handleWhen,
  type IPolicy,
  retry,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
// The built package, as users run it (`npm run bench` builds first).
import {
  CircuitBreaker,
  Idempotency,
  idempotencyNode,
  ServiceClient,
  ServiceRegistry,
} from '../dist/index.js';
import { redisIdempotencyStore } from '../dist/redis.js';
import { FAULT_DEFAULTS, type FakeUpstream, startFakeUpstream } from '../test/helpers/fake-upstream.js';
import { startFaultProxy } from '../test/helpers/fault-proxy.js';
import { startRedisServer } from '../test/helpers/redis-server.js';
import type { BenchContext } from './lib.js';

/** The tuned settings every library gets, as close to each other as each allows. */
const TUNED = { attemptTimeoutMs: 500, deadlineMs: 1_500, retries: 2 };

interface Contender {
  get(path: string, signal: AbortSignal): Promise<unknown>;
  post(path: string, body: unknown, signal: AbortSignal): Promise<unknown>;
  close(): Promise<void>;
}
type Factory = (url: string) => Contender;

/** Requests the clients tried to send (an interceptor counts them, including those refused at connect). */
let sent = 0;

function keepAliveAxios(url: string, timeoutMs = 0): { http: AxiosInstance; agent: Agent } {
  const agent = new Agent({ keepAlive: true, maxSockets: 128 });
  const http = axios.create({ baseURL: url, httpAgent: agent, timeout: timeoutMs });
  http.interceptors.request.use((config) => {
    sent++;
    return config;
  });
  return { http, agent };
}

const transient = (err: unknown): boolean => {
  const e = err as AxiosError;
  if (e.code === 'ERR_CANCELED') return false;
  const status = e.response?.status;
  return status === undefined || status === 429 || status === 408 || (status >= 502 && status <= 504);
};

/** A contender calling ServiceClient `c`; closing it also destroys `agent`. */
function serviceContender(c: ServiceClient, agent: Agent): Contender {
  return {
    get: (p, signal) => c.get(p, { signal }),
    post: (p, body, signal) => c.post(p, body, { signal }),
    close: async () => {
      await c.close();
      agent.destroy();
    },
  };
}

/** A contender calling axios `http` directly, or through a cockatiel policy per method. */
function axiosContender(
  http: AxiosInstance,
  agent: Agent,
  policies?: { get: IPolicy; post: IPolicy },
): Contender {
  const run = (
    policy: IPolicy | undefined,
    send: (s: AbortSignal) => Promise<unknown>,
    signal: AbortSignal,
  ) => (policy === undefined ? send(signal) : policy.execute(({ signal: s }) => send(s), signal));
  return {
    get: (p, signal) => run(policies?.get, (s) => http.get(p, { signal: s }), signal),
    post: (p, body, signal) => run(policies?.post, (s) => http.post(p, body, { signal: s }), signal),
    close: async () => agent.destroy(),
  };
}

const contenders: Record<string, Factory> = {
  'scaleout (defaults)': (url) => {
    const { http, agent } = keepAliveAxios(url);
    return serviceContender(new ServiceClient({ baseUrl: url }, { axios: http }), agent);
  },
  'scaleout (tuned)': (url) => {
    const { http, agent } = keepAliveAxios(url);
    const c = new ServiceClient(
      { baseUrl: url },
      {
        axios: http,
        attemptTimeoutMs: TUNED.attemptTimeoutMs,
        deadlineMs: TUNED.deadlineMs,
        retry: { maxAttempts: TUNED.retries + 1, backoff: { baseMs: 10, maxMs: 100 } },
        breaker: { openMs: 1_000 },
      },
    );
    return serviceContender(c, agent);
  },
  'axios-retry (defaults)': (url) => {
    const { http, agent } = keepAliveAxios(url);
    axiosRetry(http);
    return axiosContender(http, agent);
  },
  'axios-retry (tuned)': (url) => {
    const { http, agent } = keepAliveAxios(url, TUNED.attemptTimeoutMs);
    axiosRetry(http, {
      retries: TUNED.retries,
      retryDelay: (n, e) => exponentialDelay(n, e, 10),
      retryCondition: (e) => isIdempotentRequestError(e) || e.response?.status === 429,
      shouldResetTimeout: true,
    });
    return axiosContender(http, agent);
  },
  'cockatiel (defaults)': (url) => {
    const { http, agent } = keepAliveAxios(url);
    const policy = retry(handleAll, { maxAttempts: 3 });
    return axiosContender(http, agent, { get: policy, post: policy });
  },
  'cockatiel (tuned)': (url) => {
    const { http, agent } = keepAliveAxios(url);
    const breaker = circuitBreaker(handleWhen(transient), {
      halfOpenAfter: 1_000,
      breaker: new ConsecutiveBreaker(5),
    });
    const attempt = timeout(TUNED.attemptTimeoutMs, TimeoutStrategy.Cooperative);
    const forGet: IPolicy = wrap(
      retry(handleWhen(transient), {
        maxAttempts: TUNED.retries,
        backoff: new ExponentialBackoff({ initialDelay: 10, maxDelay: 100 }),
      }),
      breaker,
      attempt,
    );
    const forPost: IPolicy = wrap(breaker, attempt); // a POST is not safe to retry
    return axiosContender(http, agent, { get: forGet, post: forPost });
  },
};

/** Runs `calls` calls with `concurrency` workers; returns successes and per-call latencies. */
async function drive(
  calls: number,
  concurrency: number,
  call: (i: number, signal: AbortSignal) => Promise<unknown>,
  guardMs = 5_000,
): Promise<{ ok: number; latencies: number[]; gaveUp: number }> {
  let next = 0;
  let ok = 0;
  let gaveUp = 0;
  const latencies: number[] = [];
  const worker = async () => {
    while (next < calls) {
      const i = next++;
      const started = performance.now();
      const guard = AbortSignal.timeout(guardMs);
      try {
        await call(i, guard);
        ok++;
      } catch {
        if (guard.aborted) gaveUp++;
      }
      latencies.push(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { ok, latencies, gaveUp };
}

const pct = (n: number, d: number) => `${((100 * n) / d).toFixed(2)}%`;
const fmt = (x: number) => Number(x.toFixed(3));

export default async function clientBench(ctx: BenchContext): Promise<void> {
  // CLIENT_BENCH_ONLY=telemetry runs only the OpenTelemetry cost rows.
  if (process.env.CLIENT_BENCH_ONLY === 'telemetry')
    return withUpstreamProcess((url) => telemetryCost(ctx, url));
  const up: FakeUpstream = await startFakeUpstream({ seed: 7 });
  const scale = ctx.quick ? 0.25 : 1;
  const names = Object.keys(contenders);
  const fresh = async (patch: Parameters<FakeUpstream['set']>[0]) => {
    up.set({ ...FAULT_DEFAULTS, ...patch });
    up.resetCounts();
  };

  // CLIENT_BENCH_ONLY=overhead skips the fault scenarios (for quick iterations on the hot path);
  // CLIENT_BENCH_ONLY=post-reset runs only scenario 3 (POST reset after commit);
  // CLIENT_BENCH_ONLY=restart runs only scenario 5 (upstream killed, then restarted).
  const restartOnly = process.env.CLIENT_BENCH_ONLY === 'restart';
  const faults = process.env.CLIENT_BENCH_ONLY !== 'overhead';
  const postResetOnly = process.env.CLIENT_BENCH_ONLY === 'post-reset';
  // 1. 5% of requests answer 503.
  if (faults && !postResetOnly && !restartOnly) {
    const rows: Array<Record<string, string | number>> = [];
    const calls = Math.round(4_000 * scale);
    for (const name of names) {
      const c = contenders[name]!(up.url);
      await fresh({ failRate: 0.05 });
      const r = await drive(calls, 8, (_, s) => c.get('/item', s));
      rows.push({
        client: name,
        calls,
        success: pct(r.ok, calls),
        'load (attempts/call)': fmt(up.requests / calls),
      });
      await c.close();
    }
    ctx.note(
      '5% of requests fail with 503 (GET, 8 concurrent callers); target >= 99.7% success, <= 1.08x load',
      rows,
    );
  }

  // 2. Upstream fully down (every request 503).
  if (faults && !postResetOnly && !restartOnly) {
    const rows: Array<Record<string, string | number>> = [];
    const calls = Math.round(2_000 * scale);
    const withNoBreaker: Record<string, Factory> = {
      ...contenders,
      'scaleout (tuned, breaker off: budget only)': (url) => {
        const c = new ServiceClient(
          { baseUrl: url },
          { retry: { maxAttempts: TUNED.retries + 1, backoff: { baseMs: 10, maxMs: 100 } }, breaker: false },
        );
        return {
          get: (p, signal) => c.get(p, { signal }),
          post: (p, body, signal) => c.post(p, body, { signal }),
          close: () => c.close(),
        };
      },
    };
    for (const [name, make] of Object.entries(withNoBreaker)) {
      const c = make(up.url);
      await fresh({ failRate: 1 });
      const started = performance.now();
      await drive(calls, 8, (_, s) => c.get('/item', s));
      rows.push({
        client: name,
        calls,
        'attempts/call': fmt(up.requests / calls),
        'wall ms': Math.round(performance.now() - started),
      });
      await c.close();
    }
    ctx.note('Upstream 100% down (every request 503); target <= 1.15 attempts per call', rows);
  }

  // 3. POST, connection reset after the server committed (20% of POSTs), no idempotency key.
  if (faults && !restartOnly) {
    const rows: Array<Record<string, string | number>> = [];
    const calls = Math.round(400 * scale);
    for (const name of names) {
      const c = contenders[name]!(up.url);
      await fresh({ resetAfterCommitRate: 0.2 });
      const r = await drive(calls, 4, (i, s) => c.post('/orders', { op: `op-${i}` }, s));
      const committed = [...up.commits.values()].reduce((a, b) => a + b, 0);
      rows.push({
        client: name,
        posts: calls,
        'caller saw success': pct(r.ok, calls),
        'side effects committed': committed,
        'ops committed twice or more': up.duplicateCommits(),
      });
      await c.close();
    }
    {
      // The safe way to retry a POST: an idempotency key the server dedupes on.
      const c = new ServiceClient({ baseUrl: up.url }, { retry: { backoff: { baseMs: 10, maxMs: 100 } } });
      await fresh({ resetAfterCommitRate: 0.2 });
      const r = await drive(calls, 4, (i, s) =>
        c.post('/orders', { op: `op-${i}` }, { signal: s, idempotencyKey: `key-${i}` }),
      );
      rows.push({
        client: 'scaleout (defaults) + idempotencyKey',
        posts: calls,
        'caller saw success': pct(r.ok, calls),
        'side effects committed': [...up.commits.values()].reduce((a, b) => a + b, 0),
        'ops committed twice or more': up.duplicateCommits(),
      });
      await c.close();
    }
    {
      // The same fault against a server that honours the key: node:http with
      // idempotencyNode over Redis, behind a TCP proxy that loses 20% of the
      // answers after the server committed (the client sees a reset).
      const redis = await startRedisServer();
      const server = await idempotentUpstream(redis.url);
      const proxy = await startFaultProxy({ port: server.port });
      const url = `http://127.0.0.1:${proxy.port}`;
      const retry = { backoff: { baseMs: 10, maxMs: 100 } };
      const variants: Array<[string, ConstructorParameters<typeof ServiceClient>[1]]> = [
        ['scaleout (defaults) + idempotencyKey, idempotencyNode server (Redis)', { retry }],
        [
          'scaleout (6 attempts, budget and breaker off) + idempotencyKey, idempotencyNode server (Redis)',
          { retry: { ...retry, maxAttempts: 6 }, retryBudget: false, breaker: false },
        ],
      ];
      for (const [v, [name, options]] of variants.entries()) {
        server.commits.clear();
        proxy.setMode({ kind: 'lose-responses', rate: 0.2, seed: 7 });
        const lostBefore = proxy.lost;
        const c = new ServiceClient({ baseUrl: url }, options);
        const r = await drive(calls, 4, (i, s) =>
          c.post('/orders', { op: `op-${i}` }, { signal: s, idempotencyKey: `v${v}-key-${i}` }),
        );
        rows.push({
          client: name,
          posts: calls,
          'caller saw success': pct(r.ok, calls),
          'side effects committed': [...server.commits.values()].reduce((a, b) => a + b, 0),
          'ops committed twice or more': [...server.commits.values()].filter((n) => n > 1).length,
          'answers lost': proxy.lost - lostBefore,
        });
        await c.close();
      }
      await proxy.close();
      await server.close();
      await redis.stop();
    }
    ctx.note(
      'POST with the connection reset after commit (20% of POSTs); target 0 duplicate side effects',
      rows,
    );
  }

  if (postResetOnly) {
    await up.close();
    return;
  }

  // 4. Upstream hangs: how long can the slowest call take?
  if (faults && !restartOnly) {
    const rows: Array<Record<string, string | number>> = [];
    const calls = ctx.quick ? 8 : 24;
    const guardMs = 3_000;
    for (const name of names) {
      const c = contenders[name]!(up.url);
      await fresh({ hang: true });
      const r = await drive(calls, 4, (_, s) => c.get('/item', s), guardMs);
      const slowest = Math.max(...r.latencies);
      const budget: Record<string, string | number> = {
        'scaleout (defaults)': '10000 (default deadlineMs)',
        'scaleout (tuned)': TUNED.deadlineMs,
        'axios-retry (defaults)': 'none',
        'axios-retry (tuned)': `${TUNED.attemptTimeoutMs} per attempt, ${TUNED.retries} retries`,
        'cockatiel (defaults)': 'none',
        'cockatiel (tuned)': `${TUNED.attemptTimeoutMs} per attempt, ${TUNED.retries} retries`,
      };
      rows.push({
        client: name,
        'time budget (ms)': budget[name] ?? '',
        'slowest call (ms)': r.gaveUp > 0 ? `>${guardMs} (bench gave up)` : Math.round(slowest),
        'over deadline by (ms)':
          name === 'scaleout (tuned)' && r.gaveUp === 0 ? Math.round(slowest - TUNED.deadlineMs) : '',
        attempts: up.requests,
      });
      await c.close();
    }
    {
      const c = new ServiceClient({ baseUrl: up.url });
      await fresh({ hang: true });
      const r = await drive(
        calls,
        4,
        (_, s) => c.get('/item', { signal: s, deadlineMs: TUNED.deadlineMs }),
        guardMs,
      );
      const slowest = Math.max(...r.latencies);
      rows.push({
        client: `scaleout (defaults) + call deadlineMs ${TUNED.deadlineMs}`,
        'time budget (ms)': TUNED.deadlineMs,
        'slowest call (ms)': Math.round(slowest),
        'over deadline by (ms)': Math.round(slowest - TUNED.deadlineMs),
        attempts: up.requests,
      });
      await c.close();
    }
    ctx.note('Upstream hangs (never answers); target: slowest call <= deadline + 20 ms', rows);
  }

  // 5. Upstream killed for 1.5 s, then restarted: load during the outage and the recovery ramp.
  if (faults) {
    const rows: Array<Record<string, string | number>> = [];
    const outageMs = ctx.quick ? 600 : 1_500;
    const afterMs = ctx.quick ? 1_500 : 3_000;
    const bucketMs = 500;
    // The same upstream found through a ServiceRegistry (its instance stays
    // registered: a crashed process's lease outlives a 1.5 s outage).
    const registry = new ServiceRegistry();
    await registry.register('item', up.url);
    await registry.watch('item');
    const restartContenders: Record<string, Factory> = {
      ...contenders,
      'scaleout (defaults, registry)': () => {
        const { http, agent } = keepAliveAxios(up.url);
        http.defaults.baseURL = undefined;
        return serviceContender(new ServiceClient({ service: 'item', registry }, { axios: http }), agent);
      },
    };
    // Connect probes (ServiceClient's only traffic while a circuit is open) are
    // `net.connect` calls; HTTP agents connect through `net.createConnection`.
    const counting = createRequire(import.meta.url)('node:net') as typeof import('node:net');
    const realConnect = counting.connect;
    let connects = 0;
    counting.connect = ((...args: Parameters<typeof realConnect>) => {
      connects++;
      return realConnect(...args);
    }) as typeof realConnect;
    syncBuiltinESMExports();
    for (const [name, make] of Object.entries(restartContenders)) {
      const c = make(up.url);
      await fresh({});
      let stop = false;
      let revivedAt = Number.POSITIVE_INFINITY;
      let killedAt = Number.POSITIVE_INFINITY;
      let firstSuccessAfterRevive = Number.NaN;
      let outageCalls = 0;
      const buckets = Array.from({ length: Math.ceil(afterMs / bucketMs) }, () => ({ ok: 0, all: 0 }));
      const worker = async () => {
        while (!stop) {
          const startedAt = performance.now();
          let ok = false;
          try {
            await c.get('/item', AbortSignal.timeout(2_000));
            ok = true;
          } catch {}
          const t = performance.now();
          if (startedAt < revivedAt) {
            if (startedAt >= killedAt) outageCalls++;
          } else {
            const b = buckets[Math.floor((startedAt - revivedAt) / bucketMs)];
            if (b !== undefined) {
              b.all++;
              if (ok) b.ok++;
            }
            if (ok && Number.isNaN(firstSuccessAfterRevive)) firstSuccessAfterRevive = t - revivedAt;
          }
          await new Promise((r) => setTimeout(r, 5));
        }
      };
      const workers = Array.from({ length: 4 }, worker);
      await new Promise((r) => setTimeout(r, 200));
      await up.kill();
      killedAt = performance.now();
      up.resetCounts();
      const sentBefore = sent;
      const connectsBefore = connects;
      await new Promise((r) => setTimeout(r, outageMs));
      const outageAttempts = sent - sentBefore;
      const outageConnects = connects - connectsBefore;
      await up.revive();
      revivedAt = performance.now();
      await new Promise((r) => setTimeout(r, afterMs));
      stop = true;
      await Promise.all(workers);
      const row: Record<string, string | number> = {
        client: name,
        'calls during outage': outageCalls,
        'attempts sent during outage': outageAttempts,
        'attempts per call': fmt(outageAttempts / Math.max(1, outageCalls)),
        'connect probes per s of outage': Math.round(outageConnects / (outageMs / 1_000)),
        'first success after restart (ms)': Number.isNaN(firstSuccessAfterRevive)
          ? 'none'
          : Math.round(firstSuccessAfterRevive),
      };
      buckets.forEach((b, i) => {
        row[`ok ${(i * bucketMs) / 1000}-${((i + 1) * bucketMs) / 1000}s`] =
          b.all === 0 ? '-' : pct(b.ok, b.all);
      });
      rows.push(row);
      await c.close();
    }
    counting.connect = realConnect;
    syncBuiltinESMExports();
    await registry.close();
    ctx.note(
      `Upstream killed for ${outageMs} ms, then restarted: success per ${bucketMs} ms after the restart`,
      rows,
    );
  }

  if (restartOnly) {
    await up.close();
    return;
  }

  // 6. Overhead per call on loopback keep-alive (healthy upstream): first with
  // the upstream in this process (its work shares our event loop: the
  // strictest reading), then in a process of its own, as in production.
  await fresh({});
  await overhead(ctx, up.url, 'GET on loopback keep-alive, one call at a time (upstream in this process)');
  await withUpstreamProcess(async (url) => {
    await overhead(ctx, url, 'GET on loopback keep-alive, one call at a time (upstream in another process)');
    // 6b. What OpenTelemetry costs per call (last: the SDK rows register globals).
    await telemetryCost(ctx, url);
  });

  // 6b. The same without I/O: an axios adapter that answers at once isolates the CPU each layer adds.
  {
    const adapter = async (config: InternalAxiosRequestConfig): Promise<AxiosResponse> => ({
      data: { ok: true },
      status: 200,
      statusText: 'OK',
      headers: {},
      config,
    });
    const make = () => axios.create({ baseURL: 'http://in-memory.test', adapter });
    const raw = make();
    const ours = new ServiceClient({ baseUrl: 'http://in-memory.test' }, { axios: make() });
    // The same client resolving each attempt through a ServiceRegistry (pick + trackCall + report).
    const registry = new ServiceRegistry();
    for (let i = 1; i <= 3; i++) await registry.register('item', `http://in-memory-${i}.test`);
    await registry.watch('item');
    const viaRegistry = new ServiceClient({ service: 'item', registry }, { axios: make() });
    const ar = make();
    axiosRetry(ar);
    const ck = make();
    const ckPolicy = wrap(
      retry(handleAll, { maxAttempts: 2 }),
      circuitBreaker(handleAll, { halfOpenAfter: 1_000, breaker: new ConsecutiveBreaker(5) }),
      timeout(2_000, TimeoutStrategy.Cooperative),
    );
    await ctx.compare(
      'GET through an in-memory axios adapter (no I/O): CPU added per call',
      {
        'raw axios': () => raw.get('/item'),
        'scaleout ServiceClient': () => ours.get('/item'),
        'scaleout ServiceClient via ServiceRegistry (3 instances)': () => viaRegistry.get('/item'),
        'axios-retry (defaults)': () => ar.get('/item'),
        'cockatiel retry+breaker+timeout': () =>
          ckPolicy.execute(({ signal }) => ck.get('/item', { signal })),
      },
      { baseline: 'raw axios', rounds: 7 },
    );
    await ours.close();
    await viaRegistry.close();
    await registry.close();
  }

  // 7. Breaker overhead per call (no I/O).
  {
    const ours = new CircuitBreaker();
    const theirs = circuitBreaker(handleAll, { halfOpenAfter: 1_000, breaker: new ConsecutiveBreaker(5) });
    const work = async () => 1;
    await ctx.compare(
      'circuit breaker around an async call (closed state)',
      {
        'direct async call': () => work(),
        'scaleout CircuitBreaker.execute': () => ours.execute(work),
        'scaleout acquire + release (as ServiceClient uses it)': async () => {
          const permit = ours.acquire();
          const v = await work();
          ours.release(permit, 'success');
          return v;
        },
        'cockatiel circuitBreaker.execute': () => theirs.execute(work),
      },
      { baseline: 'direct async call' },
    );
  }

  await up.close();
}

/**
 * A server that honours idempotency keys: each POST commits a side effect
 * per `body.op`, behind idempotencyNode over a Redis store (key required).
 */
async function idempotentUpstream(redisUrl: string) {
  const store = redisIdempotencyStore({ connection: redisUrl, prefix: 'bench:client:idem:' });
  const keys = new Idempotency({ adapter: store, waitMs: 5_000 });
  const guard = idempotencyNode(keys, { required: true });
  const commits = new Map<string, number>();
  const read = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString() || '{}') as { op?: string };
  };
  const server = createServer(async (req, res) => {
    const body = await read(req);
    if (!(await guard(req, res, { body }))) return;
    const op = String(body.op);
    commits.set(op, (commits.get(op) ?? 0) + 1);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, op }));
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    commits,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await keys.close();
      await store.close();
    },
  };
}

/** Runs `fn` with the URL of bench/client-upstream.ts, started in a process of its own. */
async function withUpstreamProcess(fn: (url: string) => Promise<void>): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/client-upstream.ts'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  try {
    const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
    await fn(line.trim());
  } finally {
    child.stdin!.end();
    await once(child, 'exit');
  }
}

/**
 * What OpenTelemetry costs per ServiceClient call (target: at most 2% with
 * no SDK): the same client with telemetry off (`tracerProvider: false,
 * meterProvider: false`, what a build without the API does: one field
 * test) vs with `@opentelemetry/api` present and no SDK registered; then,
 * with the SDK registered globally (tracer with an in-memory exporter,
 * meter, W3C propagator, async-hooks context), off vs on; beside it, what
 * `@opentelemetry/instrumentation-http` costs raw axios on the same SDK.
 */
async function telemetryCost(ctx: BenchContext, url: string): Promise<void> {
  const off = new ServiceClient({ baseUrl: url }, { tracerProvider: false, meterProvider: false });
  const noSdk = new ServiceClient({ baseUrl: url });
  await ctx.compare(
    'OpenTelemetry cost per ServiceClient GET, API present, no SDK (upstream in another process)',
    {
      'ServiceClient, telemetry off': () => off.get('/item'),
      'ServiceClient, @opentelemetry/api, no SDK': () => noSdk.get('/item'),
    },
    { baseline: 'ServiceClient, telemetry off', rounds: 11 },
  );
  // CPU per call (this process; the upstream's work is the same for both) moves
  // far less than throughput on a loaded machine.
  await ctx.cpuPerOp(
    'OpenTelemetry cost per ServiceClient GET, API present, no SDK',
    {
      'ServiceClient, telemetry off': () => off.get('/item'),
      'ServiceClient, @opentelemetry/api, no SDK': () => noSdk.get('/item'),
    },
    { serverCpuUs: async () => 0, callsPerSample: 200, samples: 41 },
  );
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const meterProvider = new MeterProvider();
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const withSdk = new ServiceClient({ baseUrl: url });
  await ctx.compare(
    'OpenTelemetry cost per ServiceClient GET, SDK registered, in-memory exporter',
    {
      'ServiceClient, telemetry off': () => off.get('/item'),
      'ServiceClient, SDK + in-memory exporter': () => {
        exporter.reset();
        return withSdk.get('/item');
      },
    },
    { baseline: 'ServiceClient, telemetry off', rounds: 7 },
  );
  await ctx.cpuPerOp(
    'OpenTelemetry cost per ServiceClient GET, SDK registered, in-memory exporter',
    {
      'ServiceClient, telemetry off': () => off.get('/item'),
      'ServiceClient, SDK + in-memory exporter': () => {
        exporter.reset();
        return withSdk.get('/item');
      },
    },
    { serverCpuUs: async () => 0, callsPerSample: 200, samples: 21 },
  );
  await instrumentationHttpCost(ctx, url, exporter);
  trace.disable();
  metrics.disable();
  propagation.disable();
  context.disable();
  await Promise.all([
    off.close(),
    noSdk.close(),
    withSdk.close(),
    tracerProvider.shutdown(),
    meterProvider.shutdown(),
  ]);
}

/**
 * `@opentelemetry/instrumentation-http` on raw axios, with the SDK already
 * registered (the same in-memory exporter): the auto-instrumentation a
 * service would otherwise use for its HTTP calls. It patches
 * `http.request` for the whole process, so the baseline (raw axios, no
 * instrumentation) is given the unpatched `request` as its transport; the
 * patch is removed at the end, before any other row runs.
 */
async function instrumentationHttpCost(
  ctx: BenchContext,
  url: string,
  exporter: InMemorySpanExporter,
): Promise<void> {
  const require = createRequire(import.meta.url);
  const httpModule = require('node:http') as typeof import('node:http');
  const pristine = { request: httpModule.request };
  const instrumentation = new HttpInstrumentation();
  require('node:http'); // require-in-the-middle patches http on its next require
  if (httpModule.request === pristine.request) throw new Error('instrumentation-http did not patch http');
  const plain = (extra: CreateAxiosDefaults = {}) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 128 });
    return { http: axios.create({ baseURL: url, httpAgent: agent, maxRedirects: 0, ...extra }), agent };
  };
  const bare = plain({ transport: pristine });
  const instrumented = plain();
  exporter.reset();
  await instrumented.http.get('/item');
  if (
    !exporter.getFinishedSpans().some((s) => s.instrumentationScope.name.includes('instrumentation-http'))
  ) {
    throw new Error('instrumentation-http made no span');
  }
  await ctx.compare(
    'OpenTelemetry cost per raw axios GET (maxRedirects: 0), SDK registered, in-memory exporter',
    {
      'raw axios, no instrumentation': () => bare.http.get('/item'),
      'raw axios + @opentelemetry/instrumentation-http': () => {
        exporter.reset();
        return instrumented.http.get('/item');
      },
    },
    { baseline: 'raw axios, no instrumentation', rounds: 7 },
  );
  await ctx.cpuPerOp(
    'OpenTelemetry cost per raw axios GET (maxRedirects: 0), SDK registered, in-memory exporter',
    {
      'raw axios, no instrumentation': () => bare.http.get('/item'),
      'raw axios + @opentelemetry/instrumentation-http': () => {
        exporter.reset();
        return instrumented.http.get('/item');
      },
    },
    { serverCpuUs: async () => 0, callsPerSample: 200, samples: 21 },
  );
  instrumentation.disable();
  bare.agent.destroy();
  instrumented.agent.destroy();
}

/** Overhead per call against `url` (a healthy upstream): ServiceClient vs raw axios variants and the peers. */
async function overhead(ctx: BenchContext, url: string, title: string): Promise<void> {
  // No counting interceptor here: raw axios as a user would create it.
  const plainAxios = (extra: CreateAxiosDefaults = {}) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 128 });
    return { http: axios.create({ baseURL: url, httpAgent: agent, ...extra }), agent };
  };
  const raw = plainAxios();
  // The same transport ServiceClient's own instance uses (no follow-redirects wrapper).
  const rawNative = plainAxios({ maxRedirects: 0 });
  // ...and without axios' per-request proxy lookup in the environment (ServiceClient
  // skips it when no proxy variable is set; axios reads six variables per request).
  const rawBare = plainAxios({ maxRedirects: 0, proxy: false });
  const ours = new ServiceClient({ baseUrl: url });
  const ar = keepAliveAxios(url);
  axiosRetry(ar.http);
  const ck = keepAliveAxios(url);
  const ckPolicy = wrap(
    retry(handleAll, { maxAttempts: 2 }),
    circuitBreaker(handleAll, { halfOpenAfter: 1_000, breaker: new ConsecutiveBreaker(5) }),
    timeout(2_000, TimeoutStrategy.Cooperative),
  );
  await ctx.compare(
    title,
    {
      'raw axios': () => raw.http.get('/item'),
      'raw axios, maxRedirects: 0 (same transport as ServiceClient)': () => rawNative.http.get('/item'),
      'raw axios, maxRedirects: 0, proxy: false': () => rawBare.http.get('/item'),
      'scaleout ServiceClient': () => ours.get('/item'),
      'axios-retry (defaults)': () => ar.http.get('/item'),
      'cockatiel retry+breaker+timeout': () =>
        ckPolicy.execute(({ signal }) => ck.http.get('/item', { signal })),
    },
    { baseline: 'raw axios', rounds: 9 },
  );
  raw.agent.destroy();
  rawNative.agent.destroy();
  rawBare.agent.destroy();
  ar.agent.destroy();
  ck.agent.destroy();
  await ours.close();
}
