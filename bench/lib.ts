/**
 * Bench harness: interleaved, repeated measurements reported as medians and
 * ratios against a baseline. Each round runs every task once, in a rotated
 * order, so slow drift of a noisy machine hits all tasks alike.
 */
import { cpus } from 'node:os';
import { Bench } from 'tinybench';

export type TaskFn = () => unknown;

export interface CompareOptions {
  /** Task name the ratios are computed against (default: the first task). */
  baseline?: string;
  /** Rounds of interleaved measurement; the median is reported. @default 5 */
  rounds?: number;
  /** Measuring time per task per round, ms. @default 400 */
  timeMs?: number;
  /** Warm-up time per task per round, ms. @default 100 */
  warmupMs?: number;
  /** Operations each call of a task performs (for batched tasks). @default 1 */
  opsPerCall?: number;
}

export interface TaskSummary {
  name: string;
  /** Median operations per second over the rounds. */
  opsPerSec: number;
  /** Median nanoseconds per operation. */
  nsPerOp: number;
  /** Median ops/s divided by the baseline's median ops/s. */
  ratio: number;
  minOpsPerSec: number;
  maxOpsPerSec: number;
  rounds: number[];
}

export interface Comparison {
  title: string;
  baseline: string;
  tasks: TaskSummary[];
}

export interface Note {
  title: string;
  rows: Array<Record<string, string | number>>;
}

/** redis-server's CPU time so far (user + system, µs), from `INFO cpu`. */
export async function redisCpuUs(client: { info(section: string): Promise<string> }): Promise<number> {
  const info = await client.info('cpu');
  const read = (field: string) => Number(new RegExp(`${field}:([0-9.]+)`).exec(info)?.[1] ?? Number.NaN);
  return (read('used_cpu_sys') + read('used_cpu_user')) * 1e6;
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function measure(fn: TaskFn, timeMs: number, warmupMs: number): Promise<number> {
  const bench = new Bench({ time: timeMs, warmupTime: warmupMs, iterations: 16 });
  bench.add('task', fn);
  await bench.run();
  const result = bench.tasks[0]!.result as { state: string; period?: number; error?: unknown };
  if (result.state !== 'completed' || result.period === undefined) {
    throw new Error(`bench task did not complete: ${String(result.error ?? result.state)}`);
  }
  return 1000 / result.period;
}

/** A bench run's context: comparisons and free-form notes, written to bench/results/<name>.json. */
export class BenchContext {
  readonly comparisons: Comparison[] = [];
  readonly notes: Note[] = [];

  constructor(readonly quick: boolean) {}

  /** Measures `tasks` interleaved over several rounds; prints and records medians and ratios. */
  async compare(
    title: string,
    tasks: Record<string, TaskFn>,
    options: CompareOptions = {},
  ): Promise<Comparison> {
    const names = Object.keys(tasks);
    const baseline = options.baseline ?? names[0]!;
    const rounds = this.quick ? 1 : (options.rounds ?? 5);
    const timeMs = this.quick ? 100 : (options.timeMs ?? 400);
    const warmupMs = this.quick ? 20 : (options.warmupMs ?? 100);
    const opsPerCall = options.opsPerCall ?? 1;
    const samples = new Map(names.map((n) => [n, [] as number[]]));
    for (let round = 0; round < rounds; round++) {
      const order = names.map((_, i) => names[(i + round) % names.length]!);
      for (const name of order) {
        samples.get(name)!.push((await measure(tasks[name]!, timeMs, warmupMs)) * opsPerCall);
      }
    }
    const base = median(samples.get(baseline)!);
    const comparison: Comparison = {
      title,
      baseline,
      tasks: names.map((name) => {
        const s = samples.get(name)!;
        const ops = median(s);
        return {
          name,
          opsPerSec: Math.round(ops),
          nsPerOp: Math.round(1e9 / ops),
          ratio: Number((ops / base).toFixed(3)),
          minOpsPerSec: Math.round(Math.min(...s)),
          maxOpsPerSec: Math.round(Math.max(...s)),
          rounds: s.map(Math.round),
        };
      }),
    };
    this.comparisons.push(comparison);
    printComparison(comparison, rounds);
    return comparison;
  }

  /**
   * CPU time per operation of each task, this process (the client) and a
   * server (read through `serverCpuUs`, e.g. redis-server's `INFO cpu`),
   * in interleaved samples; medians. On a shared machine CPU per operation
   * moves far less than throughput, which follows whatever else runs. Each
   * call of a task performs `opsPerCall` operations.
   */
  async cpuPerOp(
    title: string,
    tasks: Record<string, TaskFn>,
    options: {
      serverCpuUs: () => Promise<number>;
      opsPerCall?: number;
      callsPerSample?: number;
      samples?: number;
      /**
       * Task the paired ratios are computed against (default: the first):
       * each sample's rate divided by the baseline's rate in the same round,
       * so a load change between rounds cancels out.
       */
      baseline?: string;
    },
  ): Promise<Array<Record<string, string | number>>> {
    const names = Object.keys(tasks);
    const baseline = options.baseline ?? names[0]!;
    const opsPerCall = options.opsPerCall ?? 1;
    const calls = options.callsPerSample ?? 20;
    const samples = this.quick ? 3 : (options.samples ?? 25);
    const client = new Map(names.map((n) => [n, [] as number[]]));
    const server = new Map(names.map((n) => [n, [] as number[]]));
    const rate = new Map(names.map((n) => [n, [] as number[]]));
    for (const name of names) for (let i = 0; i < calls; i++) await tasks[name]!(); // warm-up
    for (let round = 0; round < samples; round++) {
      for (let k = 0; k < names.length; k++) {
        const name = names[(k + round) % names.length]!;
        const s0 = await options.serverCpuUs();
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        for (let i = 0; i < calls; i++) await tasks[name]!();
        const t1 = performance.now();
        const used = process.cpuUsage(c0);
        const s1 = await options.serverCpuUs();
        const ops = calls * opsPerCall;
        client.get(name)!.push((used.user + used.system) / ops);
        server.get(name)!.push((s1 - s0) / ops);
        rate.get(name)!.push((ops * 1000) / (t1 - t0));
      }
    }
    const base = rate.get(baseline)!;
    const rows = names.map((name) => ({
      task: name,
      'client CPU µs': Number(median(client.get(name)!).toFixed(2)),
      'server CPU µs': Number(median(server.get(name)!).toFixed(2)),
      'total CPU µs': Number((median(client.get(name)!) + median(server.get(name)!)).toFixed(2)),
      'ops/s (median sample)': Math.round(median(rate.get(name)!)),
      'paired ratio': Number(median(rate.get(name)!.map((r, i) => r / base[i]!)).toFixed(3)),
    }));
    this.note(
      `${title} (CPU µs per operation, medians of ${samples} interleaved samples of ${calls * opsPerCall} operations; rates paired with ${baseline} in each round)`,
      rows,
    );
    return rows;
  }

  /** Records and prints a table of measured figures that are not ops/s (counts, latencies). */
  note(title: string, rows: Array<Record<string, string | number>>): void {
    this.notes.push({ title, rows });
    console.log(`\n${title}`);
    console.table(rows);
  }
}

function printComparison(c: Comparison, rounds: number): void {
  console.log(
    `\n${c.title}  (median of ${rounds} interleaved round${rounds === 1 ? '' : 's'}; ratio vs ${c.baseline})`,
  );
  console.table(
    c.tasks.map((t) => ({
      task: t.name,
      'ops/s': t.opsPerSec.toLocaleString('en-US'),
      'ns/op': t.nsPerOp.toLocaleString('en-US'),
      ratio: `${t.ratio.toFixed(2)}x`,
      'min..max ops/s': `${t.minOpsPerSec.toLocaleString('en-US')}..${t.maxOpsPerSec.toLocaleString('en-US')}`,
    })),
  );
}

export function machine(): Record<string, string | number> {
  const cpu = cpus();
  return {
    node: process.version,
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    platform: process.platform,
  };
}

/** A bench file's default export. */
export type BenchFile = (ctx: BenchContext) => Promise<void>;
