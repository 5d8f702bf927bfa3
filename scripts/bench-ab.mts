/**
 * `node --import tsx scripts/bench-ab.mts <before-dir> <after-dir>`: compares
 * two sets of bench results (directories of `<name>.json` as `npm run bench`
 * writes them, e.g. one run on an older commit and one on the current one,
 * taken back to back on the same machine state) and prints a markdown table:
 * for every scaleout row present in both, its ratio against the fastest peer
 * (else the fastest reference) before and after, and the change.
 *
 * A ratio, not a rate, is compared: both runs measure scaleout and its peers
 * interleaved, so a machine that is slower in one run moves both sides.
 * Rows whose change is below -5% are marked; `--fail` exits 1 if any is.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BenchResult, type TableRow, tableRows } from './bench-report.mjs';

/** One row found in both runs. */
export interface AbRow {
  bench: string;
  comparison: string;
  task: string;
  against: string;
  before: number;
  after: number;
  /** after / before - 1. */
  change: number;
}

function rowsOf(dir: string): Map<string, TableRow> {
  const rows = new Map<string, TableRow>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json') && !f.includes('.quick.'))) {
    const result = JSON.parse(readFileSync(join(dir, file), 'utf8')) as BenchResult;
    for (const row of tableRows(result)) {
      rows.set(`${row.bench}\u0000${row.comparison}\u0000${row.ours.name}`, row);
    }
  }
  return rows;
}

/**
 * The rows present in both directories with a ratio on both sides, in the
 * order of the after run.
 *
 * @example
 * ```ts
 * const rows = compareRuns('/tmp/before', 'bench/results');
 * ```
 */
export function compareRuns(beforeDir: string, afterDir: string): AbRow[] {
  const before = rowsOf(beforeDir);
  const out: AbRow[] = [];
  for (const [key, row] of rowsOf(afterDir)) {
    const old = before.get(key);
    if (old?.ratio === undefined || row.ratio === undefined) continue;
    out.push({
      bench: row.bench,
      comparison: row.comparison,
      task: row.ours.name,
      against: row.against?.name ?? '',
      before: old.ratio,
      after: row.ratio,
      change: row.ratio / old.ratio - 1,
    });
  }
  return out;
}

const pct = (x: number): string => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;

if (import.meta.url === `file://${process.argv[1]}`) {
  const [beforeDir, afterDir] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  if (!beforeDir || !afterDir) {
    console.error('usage: scripts/bench-ab.mts <before-dir> <after-dir> [--fail]');
    process.exit(2);
  }
  const rows = compareRuns(beforeDir, afterDir);
  console.log('| bench | comparison | scaleout task | against | before | after | change |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const mark = r.change < -0.05 ? ' **(worse > 5%)**' : '';
    console.log(
      `| ${r.bench} | ${r.comparison} | ${r.task} | ${r.against} | ${r.before.toFixed(2)}x | ${r.after.toFixed(2)}x | ${pct(r.change)}${mark} |`,
    );
  }
  const worse = rows.filter((r) => r.change < -0.05).length;
  console.log(`\n${rows.length} rows in both runs; ${worse} worse by more than 5%.`);
  if (worse > 0 && process.argv.includes('--fail')) process.exit(1);
}
