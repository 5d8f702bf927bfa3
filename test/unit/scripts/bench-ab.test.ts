import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareRuns } from '../../../scripts/bench-ab.mjs';
import type { BenchResult } from '../../../scripts/bench-report.mjs';

function task(name: string, opsPerSec: number) {
  return {
    name,
    opsPerSec,
    nsPerOp: 1e9 / opsPerSec,
    ratio: 1,
    minOpsPerSec: opsPerSec,
    maxOpsPerSec: opsPerSec,
    rounds: [opsPerSec],
  };
}

function run(oursOps: number, peerOps: number, extra = false): string {
  const dir = mkdtempSync(join(tmpdir(), 'bench-ab-'));
  const result: BenchResult = {
    name: 'demo',
    command: 'npm run bench demo',
    date: '2026-12-06T18:00:00.000Z',
    durationMs: 1000,
    machine: { node: 'v20', cpu: 'x', cores: 2, platform: 'linux' },
    comparisons: [
      {
        title: 'sign',
        baseline: 'fast-jwt',
        tasks: [task('fast-jwt', peerOps), task('scaleout signSync', oursOps)],
      },
      ...(extra ? [{ title: 'new row', baseline: 'x', tasks: [task('x', 1), task('scaleout y', 1)] }] : []),
    ],
    notes: [],
  };
  writeFileSync(join(dir, 'demo.json'), JSON.stringify(result));
  writeFileSync(join(dir, 'demo.quick.json'), JSON.stringify({ ...result, comparisons: [] }));
  return dir;
}

describe('bench-ab', () => {
  it('compares the ratio against the fastest peer, row by row, across two runs', () => {
    // Before 150/200 = 0.75x; after 120/200 = 0.60x: 20% worse, though both runs were
    // measured at different machine speeds (the peer's rate moves too).
    const rows = compareRuns(run(150, 200), run(60, 100, true));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ comparison: 'sign', task: 'scaleout signSync', against: 'fast-jwt' });
    expect(rows[0]!.before).toBeCloseTo(0.75);
    expect(rows[0]!.after).toBeCloseTo(0.6);
    expect(rows[0]!.change).toBeCloseTo(-0.2);
  });
});
