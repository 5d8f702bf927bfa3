/**
 * `node --import tsx scripts/bench-report.mts [--check]`: writes
 * docs/benchmarks.md, the current table, from the full runs in
 * bench/results/<name>.json (quick runs, `<name>.quick.json`, are never
 * used: one cold round says nothing about ratios). Every scaleout task of
 * every comparison gets a row: against the fastest peer library (the rows
 * where a peer is ahead are marked, never left out) or, where no peer runs
 * the same work, against the raw baseline it wraps. `npm run bench` runs it
 * after writing results; `--check` fails when the page is out of date
 * (the unit tests run it), so the page can never drift from the results.
 *
 * How a task is classified, by its name: scaleout's own (`scaleout ...`,
 * `MessageQueue ...`, `jsonSerializer`, ...), a reference that is not a
 * library a user would pick instead (`raw axios`, `ioredis GET`, `direct
 * call`, `JSON.parse`, `no middleware`, ...), or a peer (everything else).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One task of a comparison, as bench/lib.ts writes it. */
export interface BenchTask {
  name: string;
  opsPerSec: number;
  nsPerOp: number;
  ratio: number;
  minOpsPerSec: number;
  maxOpsPerSec: number;
  rounds: number[];
}

/** One interleaved comparison. */
export interface BenchComparison {
  title: string;
  baseline?: string;
  tasks: BenchTask[];
}

/** A table a bench printed beside its comparisons (fault scenarios, counts). */
export interface BenchNote {
  title: string;
  rows: Record<string, unknown>[];
}

/** The content of bench/results/<name>.json. */
export interface BenchResult {
  name: string;
  command: string;
  date: string;
  durationMs: number;
  machine: { node: string; cpu: string; cores: number; platform: string };
  comparisons: BenchComparison[];
  notes?: BenchNote[];
}

/** Whose a task is. */
export type TaskKind = 'ours' | 'reference' | 'peer';

const OURS =
  /^(scaleout|MessageQueue|jsonSerializer|SingleFlight|pick: |startCall|idempotencyNode|RateLimiter|ServiceClient|DistributedCache)/i;
const REFERENCE =
  /^(raw |ioredis |direct |JSON\.|no middleware|no key|adapter\.get|Array shift|perf_hooks|plain |none\b)/i;

/**
 * Classifies a task by its name.
 *
 * @example
 * ```ts
 * taskKind('scaleout signSync'); // 'ours'
 * taskKind('raw amqplib (quorum)'); // 'reference'
 * taskKind('fast-jwt'); // 'peer'
 * ```
 */
export function taskKind(name: string): TaskKind {
  if (OURS.test(name)) return 'ours';
  if (REFERENCE.test(name)) return 'reference';
  return 'peer';
}

/** One row of the current table. */
export interface TableRow {
  bench: string;
  comparison: string;
  ours: BenchTask;
  against: BenchTask | undefined;
  kind: 'peer' | 'reference' | 'none';
  ratio: number | undefined;
  /** The spread of our rounds, max/min - 1. */
  spread: number;
}

function fastest(tasks: BenchTask[]): BenchTask | undefined {
  let best: BenchTask | undefined;
  for (const t of tasks) if (best === undefined || t.opsPerSec > best.opsPerSec) best = t;
  return best;
}

/**
 * The rows of one bench's result: every scaleout task of every comparison
 * against the fastest peer, else the fastest reference.
 *
 * @example
 * ```ts
 * const rows = tableRows(JSON.parse(readFileSync('bench/results/auth.json', 'utf8')));
 * ```
 */
export function tableRows(result: BenchResult): TableRow[] {
  const rows: TableRow[] = [];
  for (const c of result.comparisons) {
    const peer = fastest(c.tasks.filter((t) => taskKind(t.name) === 'peer'));
    const reference = fastest(c.tasks.filter((t) => taskKind(t.name) === 'reference'));
    const against = peer ?? reference;
    for (const ours of c.tasks.filter((t) => taskKind(t.name) === 'ours')) {
      rows.push({
        bench: result.name,
        comparison: c.title,
        ours,
        against,
        kind: peer ? 'peer' : reference ? 'reference' : 'none',
        ratio: against && against.opsPerSec > 0 ? ours.opsPerSec / against.opsPerSec : undefined,
        spread: ours.minOpsPerSec > 0 ? ours.maxOpsPerSec / ours.minOpsPerSec - 1 : 0,
      });
    }
  }
  return rows;
}

function ops(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M/s`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)} k/s`;
  return `${Math.round(n).toLocaleString('en-US')}/s`;
}

function cell(value: unknown): string {
  const text = typeof value === 'number' ? String(Math.round(value * 1000) / 1000) : String(value ?? '');
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function verdict(row: TableRow): string {
  if (row.ratio === undefined) return '';
  if (row.kind === 'reference') return 'overhead';
  if (row.ratio >= 1) return 'ahead';
  return row.ratio >= 0.95 ? '**behind** (within noise)' : '**behind**';
}

/**
 * Renders docs/benchmarks.md from the results.
 *
 * @example
 * ```ts
 * writeFileSync('docs/benchmarks.md', renderReport(loadResults('bench/results')));
 * ```
 */
export function renderReport(results: BenchResult[]): string {
  const out: string[] = [];
  out.push('# Benchmarks: the current table');
  out.push('');
  out.push(
    'Generated by `scripts/bench-report.mts` from the full runs in `bench/results/<name>.json`',
    '(`npm run bench <name>` writes them and regenerates this page; never edit it by hand).',
    'Every comparison is measured interleaved in one run: each of 5 rounds runs every task once,',
    'in rotated order, and the figures are the median round. A row puts each scaleout task',
    'against the fastest **peer** library a user would pick instead, or, where no peer does the',
    'same work, against the raw **reference** it wraps (then the ratio is its overhead). Rows where',
    'a peer is ahead are marked **behind**; under 5% is within the noise of this 2-core machine.',
    'What each figure meant when it was written, with the analysis behind it, is in',
    '[benchmarks-history.md](benchmarks-history.md).',
  );
  const all = results.flatMap(tableRows);
  const behind = all.filter((r) => r.kind === 'peer' && r.ratio !== undefined && r.ratio < 1);
  out.push('');
  out.push(`${all.length} comparisons; a peer is ahead in ${behind.length}.`);
  for (const result of results) {
    const rows = tableRows(result);
    out.push('');
    out.push(`## ${result.name}`);
    out.push('');
    out.push(
      `\`${result.command}\`, ${result.date.slice(0, 16).replace('T', ' ')} UTC, Node ${result.machine.node}, ` +
        `${result.machine.cores} cores, ${Math.round(result.durationMs / 1000)} s.`,
    );
    if (rows.length > 0) {
      out.push('');
      out.push('| comparison | scaleout | against | ratio | spread | verdict |');
      out.push('| --- | --- | --- | --- | --- | --- |');
      for (const r of rows) {
        const against = r.against ? `${cell(r.against.name)}: ${ops(r.against.opsPerSec)} (${r.kind})` : '—';
        const ratio = r.ratio === undefined ? '—' : `${r.ratio.toFixed(2)}×`;
        out.push(
          `| ${cell(r.comparison)} | ${cell(r.ours.name)}: ${ops(r.ours.opsPerSec)} | ${against} | ${ratio} | ` +
            `±${(r.spread * 50).toFixed(1)}% | ${verdict(r)} |`,
        );
      }
    }
    for (const note of result.notes ?? []) {
      if (note.rows.length === 0) continue;
      const keys = [...new Set(note.rows.flatMap((row) => Object.keys(row)))];
      out.push('');
      out.push(`**${cell(note.title)}**`);
      out.push('');
      out.push(`| ${keys.map(cell).join(' | ')} |`);
      out.push(`| ${keys.map(() => '---').join(' | ')} |`);
      for (const row of note.rows) out.push(`| ${keys.map((k) => cell(row[k])).join(' | ')} |`);
    }
  }
  out.push('');
  return out.join('\n');
}

/**
 * Reads the full-run results of a directory, sorted by bench name.
 *
 * @example
 * ```ts
 * const results = loadResults('bench/results');
 * ```
 */
export function loadResults(dir: string): BenchResult[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && !f.endsWith('.quick.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as BenchResult);
}

/**
 * docs/benchmarks.md as it should be: the report of `root`'s results,
 * formatted as `biome check` wants it (so lint and `--check` agree).
 *
 * @example
 * ```ts
 * writeFileSync('docs/benchmarks.md', formattedReport(process.cwd()));
 * ```
 */
export function formattedReport(root: string): string {
  return execFileSync(
    join(root, 'node_modules', '.bin', 'biome'),
    ['format', '--stdin-file-path=docs/benchmarks.md'],
    {
      cwd: root,
      input: renderReport(loadResults(join(root, 'bench', 'results'))),
      encoding: 'utf8',
    },
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const page = join(root, 'docs', 'benchmarks.md');
  const text = formattedReport(root);
  if (process.argv.includes('--check')) {
    if (readFileSync(page, 'utf8') !== text) {
      console.error(
        'bench-report: docs/benchmarks.md is out of date; run node --import tsx scripts/bench-report.mts',
      );
      process.exit(1);
    }
    console.log('bench-report: docs/benchmarks.md matches bench/results');
  } else {
    writeFileSync(page, text);
    console.log('bench-report: wrote docs/benchmarks.md');
  }
}
