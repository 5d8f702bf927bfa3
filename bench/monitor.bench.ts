/**
 * PerformanceMonitor against the histograms a Node team would otherwise
 * pick: prom-client (the Prometheus client), hdr-histogram-js (JS and WASM)
 * and node's own perf_hooks histogram. Record cost, memory per series,
 * accuracy, event-loop blocking during a scrape of 10k series, and HTTP
 * middleware overhead under autocannon (throughput, and the server
 * process's CPU per request). Runs the built package (`npm run bench`
 * builds first), as users do.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createHistogram } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import autocannon from 'autocannon';
import * as hdr from 'hdr-histogram-js';
import client from 'prom-client';
import { LatencyHistogram, PerformanceMonitor } from '../dist/index.js';
import { histogramQuantile, parseSamples } from '../test/helpers/prometheus-text.js';
import { normal, seededRandom } from '../test/helpers/seeded-random.js';
import { type BenchContext, median } from './lib.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const BATCH = 1000;
const random = seededRandom(2026);
/** Latencies in ms: lognormal, median 20 ms. */
const valuesMs = Float64Array.from({ length: 4096 }, () => Math.exp(Math.log(20) + normal(random)));
const valuesUs = valuesMs.map((v) => Math.max(1, Math.round(v * 1000)));
const MASK = valuesMs.length - 1;
const LABELS = { method: 'GET', route: '/users/:id', status: '200' };
const METHODS = ['GET', 'POST', 'PUT', 'DELETE'];

function promHistogram(registry: client.Registry, name = 'http_request_duration_seconds') {
  return new client.Histogram({
    name,
    help: 'request duration',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
}

function memoryOf(n: number, create: (i: number) => unknown): number {
  const keep: unknown[] = [];
  gc();
  gc();
  const before = process.memoryUsage();
  for (let i = 0; i < n; i++) keep.push(create(i));
  gc();
  gc();
  const after = process.memoryUsage();
  const bytes = after.heapUsed - before.heapUsed + (after.external - before.external);
  if (keep.length !== n) throw new Error('unreachable');
  return Math.round(bytes / n);
}

async function worstBlock(
  scrape: () => Promise<number>,
): Promise<{ totalMs: number; worstGapMs: number; bytes: number }> {
  let worst = 0;
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 1);
  await new Promise((r) => setTimeout(r, 5));
  last = performance.now();
  const started = performance.now();
  const bytes = await scrape();
  const totalMs = performance.now() - started;
  await new Promise((r) => setTimeout(r, 2));
  clearInterval(ticker);
  return { totalMs, worstGapMs: Math.max(worst, 0), bytes };
}

async function startServer(mode: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/monitor-server.ts', mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  return { child, url: `http://127.0.0.1:${line.trim()}/users/42` };
}

export default async function (ctx: BenchContext): Promise<void> {
  // --- record cost ---------------------------------------------------------
  const monitor = new PerformanceMonitor({ eventLoop: false, maxSeries: 100_000 });
  const bound = monitor.bind({ method: 'GET', route: '/users/:id', status: 200 });
  const raw = new LatencyHistogram();
  const promRegistry = new client.Registry();
  const prom = promHistogram(promRegistry);
  const promBound = prom.labels(LABELS);
  await hdr.initWebAssembly();
  const hdrJs = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 131_072_000,
    numberOfSignificantValueDigits: 2,
  });
  const hdrWasm = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 131_072_000,
    numberOfSignificantValueDigits: 2,
    useWebAssembly: true,
  });
  const perf = createHistogram();
  let k = 0;
  await ctx.compare(
    'record one duration on a pre-bound series (ns per record)',
    {
      'scaleout RequestSeries.record (pre-bound)': () => {
        for (let i = 0; i < BATCH; i++) bound.record(valuesMs[k++ & MASK]!);
      },
      'scaleout LatencyHistogram.record': () => {
        for (let i = 0; i < BATCH; i++) raw.record(valuesMs[k++ & MASK]!);
      },
      'prom-client labels(...).observe (pre-bound)': () => {
        for (let i = 0; i < BATCH; i++) promBound.observe(valuesMs[k++ & MASK]! / 1000);
      },
      'hdr-histogram-js (JS) recordValue': () => {
        for (let i = 0; i < BATCH; i++) hdrJs.recordValue(valuesUs[k++ & MASK]!);
      },
      'hdr-histogram-js (WASM) recordValue': () => {
        for (let i = 0; i < BATCH; i++) hdrWasm.recordValue(valuesUs[k++ & MASK]!);
      },
      'perf_hooks createHistogram().record': () => {
        for (let i = 0; i < BATCH; i++) perf.record(valuesUs[k++ & MASK]!);
      },
    },
    { baseline: 'prom-client labels(...).observe (pre-bound)', opsPerCall: BATCH },
  );

  const routes = Array.from({ length: 50 }, (_, i) => `/api/v${i % 3}/resource${i}/:id`);
  await ctx.compare(
    'record with a label lookup (3 labels, 200 series)',
    {
      'scaleout bind(labels).record': () => {
        for (let i = 0; i < BATCH; i++) {
          const j = k++;
          monitor
            .bind({ method: METHODS[j & 3], route: routes[j % 50], status: 200 })
            .record(valuesMs[j & MASK]!);
        }
      },
      'scaleout recordResponse(start, status, labels) (reads the clock)': () => {
        for (let i = 0; i < BATCH; i++) {
          const j = k++;
          monitor.recordResponse(performance.now() - valuesMs[j & MASK]!, 200, {
            method: METHODS[j & 3],
            route: routes[j % 50],
          });
        }
      },
      'prom-client observe(labels, v)': () => {
        for (let i = 0; i < BATCH; i++) {
          const j = k++;
          prom.observe(
            { method: METHODS[j & 3]!, route: routes[j % 50]!, status: 200 },
            valuesMs[j & MASK]! / 1000,
          );
        }
      },
    },
    { baseline: 'prom-client observe(labels, v)', opsPerCall: BATCH },
  );
  await monitor.close();

  // --- memory per series ---------------------------------------------------
  const n = ctx.quick ? 500 : 2000;
  const memRegistry = new client.Registry();
  const memProm = promHistogram(memRegistry, 'mem_seconds');
  const memMonitor = new PerformanceMonitor({ eventLoop: false, maxSeries: 100_000 });
  ctx.note('memory per series (bytes, heap + external, after GC)', [
    {
      library: 'scaleout (PerformanceMonitor series, 1 value each)',
      bytes: memoryOf(n, (i) => memMonitor.bind({ method: 'GET', route: `/m/${i}`, status: 200 }).record(5)),
    },
    {
      library: 'prom-client (histogram child, default 11 buckets)',
      bytes: memoryOf(n, (i) => memProm.observe({ method: 'GET', route: `/m/${i}`, status: '200' }, 0.005)),
    },
    {
      library: 'hdr-histogram-js JS (1..131 s in µs, 2 digits)',
      bytes: memoryOf(n, () => {
        const h = hdr.build({
          lowestDiscernibleValue: 1,
          highestTrackableValue: 131_072_000,
          numberOfSignificantValueDigits: 2,
        });
        h.recordValue(5000);
        return h;
      }),
    },
    {
      library: 'hdr-histogram-js WASM (same)',
      bytes: memoryOf(Math.min(n, 500), () => {
        const h = hdr.build({
          lowestDiscernibleValue: 1,
          highestTrackableValue: 131_072_000,
          numberOfSignificantValueDigits: 2,
          useWebAssembly: true,
        });
        h.recordValue(5000);
        return h;
      }),
    },
  ]);
  await memMonitor.close();

  // --- accuracy -------------------------------------------------------------
  const acc = seededRandom(7);
  const sample = Float64Array.from({ length: 100_000 }, () => Math.exp(Math.log(20) + normal(acc)));
  const sorted = Float64Array.from(sample).sort();
  const exact = (q: number) => sorted[Math.floor(q * (sorted.length - 1))]!;
  const accRegistry = new client.Registry();
  const promMs = promHistogram(accRegistry, 'fed_ms');
  const promS = promHistogram(accRegistry, 'fed_seconds');
  const ours = new LatencyHistogram();
  const accMonitor = new PerformanceMonitor({ eventLoop: false });
  const accSeries = accMonitor.bind({ method: 'GET', route: '/', status: 200 });
  const hdrAcc = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 131_072_000,
    numberOfSignificantValueDigits: 2,
  });
  for (const v of sample) {
    promMs.observe({ method: 'GET', route: '/', status: '200' }, v);
    promS.observe({ method: 'GET', route: '/', status: '200' }, v / 1000);
    ours.record(v);
    accSeries.record(v);
    hdrAcc.recordValue(Math.round(v * 1000));
  }
  const bucketsOf = (text: string, name: string) =>
    parseSamples(text)
      .filter((s) => s.name === `${name}_bucket`)
      .map((s) => ({
        le: s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le),
        count: s.value,
      }));
  const promText = await accRegistry.metrics();
  const ourText = await accMonitor.metrics();
  await accMonitor.close();
  const err = (estimate: number, q: number) => `${(((estimate - exact(q)) / exact(q)) * 100).toFixed(2)}%`;
  ctx.note(
    'accuracy on lognormal latencies (median 20 ms, 100k samples): error vs exact sorted quantile',
    [0.5, 0.9, 0.99, 0.999].map((q) => ({
      quantile: `p${q * 100}`,
      'exact ms': Number(exact(q).toFixed(3)),
      'scaleout LatencyHistogram': err(ours.quantile(q), q),
      'hdr-histogram-js (2 digits)': err(hdrAcc.getValueAtPercentile(q * 100) / 1000, q),
      'histogram_quantile on scaleout le buckets': err(
        histogramQuantile(q, bucketsOf(ourText, 'http_request_duration_seconds')) * 1000,
        q,
      ),
      'histogram_quantile on prom-client defaults, fed ms': err(
        histogramQuantile(q, bucketsOf(promText, 'fed_ms')),
        q,
      ),
      'histogram_quantile on prom-client defaults, fed s': err(
        histogramQuantile(q, bucketsOf(promText, 'fed_seconds')) * 1000,
        q,
      ),
    })),
  );

  // --- scrape of 10k series --------------------------------------------------
  const SERIES = 10_000;
  const big = new PerformanceMonitor({ eventLoop: false, maxSeries: 20_000 });
  const bigRegistry = new client.Registry();
  const bigProm = promHistogram(bigRegistry);
  for (let i = 0; i < SERIES; i++) {
    const route = `/route/${i >> 2}`;
    const method = METHODS[i & 3]!;
    const s = big.bind({ method, route, status: 200 });
    const p = bigProm.labels({ method, route, status: '200' });
    for (let j = 0; j < 5; j++) {
      const v = valuesMs[(i * 5 + j) & MASK]!;
      s.record(v);
      p.observe(v / 1000);
    }
  }
  const rounds = ctx.quick ? 1 : 5;
  const results: Record<string, Array<{ totalMs: number; worstGapMs: number; bytes: number }>> = {
    'scaleout exposition() (streamed chunks, as /metrics serves it)': [],
    'scaleout metrics() (one string)': [],
    'prom-client registry.metrics()': [],
  };
  for (let r = 0; r < rounds; r++) {
    results['scaleout exposition() (streamed chunks, as /metrics serves it)']!.push(
      await worstBlock(async () => {
        let bytes = 0;
        for await (const chunk of big.exposition()) bytes += chunk.length;
        return bytes;
      }),
    );
    results['scaleout metrics() (one string)']!.push(
      await worstBlock(async () => (await big.metrics()).length),
    );
    results['prom-client registry.metrics()']!.push(
      await worstBlock(async () => (await bigRegistry.metrics()).length),
    );
  }
  // CPU time of each synchronous slice (process CPU between resumptions of the
  // scrape): what the scrape itself costs the loop, without the preemption a
  // shared machine adds to wall-clock gaps.
  const sliceCpu: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const it = big.exposition();
    for (;;) {
      const before = process.cpuUsage();
      const step = await it.next();
      const used = process.cpuUsage(before);
      sliceCpu.push((used.user + used.system) / 1000);
      if (step.done) break;
    }
  }
  sliceCpu.sort((a, b) => a - b);
  ctx.note('scaleout scrape of 10k series: CPU per slice (ms, all rounds)', [
    {
      slices: sliceCpu.length,
      median: Number(median(sliceCpu).toFixed(2)),
      p99: Number(sliceCpu[Math.floor(0.99 * (sliceCpu.length - 1))]!.toFixed(2)),
      max: Number(sliceCpu[sliceCpu.length - 1]!.toFixed(2)),
    },
  ]);
  await big.close();
  ctx.note(
    `scrape of ${SERIES.toLocaleString('en-US')} histogram series: worst event-loop gap (1 ms ticker), median of ${rounds}`,
    Object.entries(results).map(([task, rs]) => ({
      task,
      'worst gap ms (median)': Number(median(rs.map((x) => x.worstGapMs)).toFixed(1)),
      'worst gap ms (max)': Number(Math.max(...rs.map((x) => x.worstGapMs)).toFixed(1)),
      'scrape ms (median)': Number(median(rs.map((x) => x.totalMs)).toFixed(0)),
      'output MB': Number((rs[0]!.bytes / 1e6).toFixed(1)),
    })),
  );

  // --- middleware overhead under autocannon ------------------------------------
  const modes = ['none', 'scaleout', 'prom-client'];
  const servers = new Map<string, { child: ChildProcess; url: string }>();
  for (const mode of modes) servers.set(mode, await startServer(mode));
  const throughput = new Map<string, number[]>(modes.map((m) => [m, []]));
  const latency = new Map<string, number[]>(modes.map((m) => [m, []]));
  // The server process's CPU (user + system) per request: what the
  // middleware adds, less blurred by whatever else runs on the machine.
  const cpuPerRequest = new Map<string, number[]>(modes.map((m) => [m, []]));
  const serverCpu = async (url: string) =>
    (await (await fetch(new URL('/__cpu', url))).json()) as { cpuUs: number; requests: number };
  try {
    for (let r = 0; r < (ctx.quick ? 1 : 7); r++) {
      for (let i = 0; i < modes.length; i++) {
        const mode = modes[(i + r) % modes.length]!;
        const before = await serverCpu(servers.get(mode)!.url);
        const result = await autocannon({
          url: servers.get(mode)!.url,
          connections: 10,
          duration: ctx.quick ? 1 : 3,
        });
        const after = await serverCpu(servers.get(mode)!.url);
        throughput.get(mode)!.push(result.requests.average);
        latency.get(mode)!.push(result.latency.p99);
        cpuPerRequest.get(mode)!.push((after.cpuUs - before.cpuUs) / (after.requests - before.requests));
      }
    }
  } finally {
    for (const { child } of servers.values()) child.kill();
  }
  const base = median(throughput.get('none')!);
  const baseCpu = median(cpuPerRequest.get('none')!);
  ctx.note(
    'HTTP middleware overhead (node:http, autocannon 10 connections; server in its own process; medians)',
    modes.map((mode) => ({
      middleware: mode,
      'req/s': Math.round(median(throughput.get(mode)!)),
      'vs none': `${(median(throughput.get(mode)!) / base).toFixed(3)}x`,
      'p99 latency ms': median(latency.get(mode)!),
      'server CPU µs/request': Number(median(cpuPerRequest.get(mode)!).toFixed(2)),
      'CPU vs none': `${((median(cpuPerRequest.get(mode)!) / baseCpu - 1) * 100).toFixed(1)}%`,
      'req/s rounds': throughput.get(mode)!.map(Math.round).join(' '),
    })),
  );
}
