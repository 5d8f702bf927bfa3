/**
 * `npm run bench [name] [--quick]`: runs bench/<name>.bench.ts (or every
 * bench file), prints tables and writes bench/results/<name>.json.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { formattedReport } from '../scripts/bench-report.mjs';
import { BenchContext, type BenchFile, machine } from './lib.js';

const dir = new URL('.', import.meta.url).pathname;
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const wanted = args.filter((a) => !a.startsWith('--'));
const available = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.slice(0, -'.bench.ts'.length))
  .sort();
const names = wanted.length > 0 ? wanted : available;
for (const name of names) {
  if (!available.includes(name)) {
    console.error(`no bench named "${name}"; available: ${available.join(', ')}`);
    process.exit(2);
  }
}

for (const name of names) {
  console.log(`\n### bench: ${name}${quick ? ' (quick)' : ''}`);
  const mod = (await import(pathToFileURL(join(dir, `${name}.bench.ts`)).href)) as { default: BenchFile };
  const ctx = new BenchContext(quick);
  const started = Date.now();
  await mod.default(ctx);
  const result = {
    name,
    command: `npm run bench ${name}${quick ? ' -- --quick' : ''}`,
    date: new Date().toISOString(),
    durationMs: Date.now() - started,
    machine: machine(),
    comparisons: ctx.comparisons,
    notes: ctx.notes,
  };
  mkdirSync(join(dir, 'results'), { recursive: true });
  const out = join(dir, 'results', `${name}${quick ? '.quick' : ''}.json`);
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nwrote ${out}`);
}
if (!quick) {
  // The current table follows the results it is made of.
  writeFileSync(join(dir, '..', 'docs', 'benchmarks.md'), formattedReport(join(dir, '..')));
  console.log('wrote docs/benchmarks.md');
}
// A peer library may leave sockets or timers behind (redlock does); the run is over.
process.exit(0);
