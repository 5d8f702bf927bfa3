import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { type BenchResult, renderReport, tableRows, taskKind } from '../../../scripts/bench-report.mjs';

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
      tasks: [task('fast-jwt', 200), task('jose SignJWT', 50), task('scaleout signSync', 150)],
    },
    {
      title: 'publish',
      baseline: 'raw amqplib',
      tasks: [task('raw amqplib', 100), task('MessageQueue (amqp)', 96)],
    },
  ],
  notes: [{ title: 'round trips', rows: [{ library: 'scaleout', commands: 1 }] }],
};

describe('bench-report', () => {
  it('tells scaleout tasks, references and peers apart by name', () => {
    expect(taskKind('scaleout signSync')).toBe('ours');
    expect(taskKind('MessageQueue (amqp, quorum)')).toBe('ours');
    expect(taskKind('startCall + end: power-of-two-choices')).toBe('ours');
    expect(taskKind('raw amqplib (quorum)')).toBe('reference');
    expect(taskKind('ioredis GET + JSON.parse')).toBe('reference');
    expect(taskKind('fast-jwt')).toBe('peer');
    expect(taskKind('connect-redis get')).toBe('peer');
  });

  it('puts every scaleout task against the fastest peer, else the reference', () => {
    const rows = tableRows(result);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ kind: 'peer', ratio: 0.75 });
    expect(rows[0]?.against?.name).toBe('fast-jwt');
    expect(rows[1]).toMatchObject({ kind: 'reference', ratio: 0.96 });
  });

  it('marks the rows where a peer is ahead and counts them', () => {
    const page = renderReport([result]);
    expect(page).toContain('a peer is ahead in 1.');
    expect(page).toMatch(
      /\| sign \| scaleout signSync: 150\/s \| fast-jwt: 200\/s \(peer\) \| 0\.75× \|.*\*\*behind\*\*/,
    );
    expect(page).toContain(
      '| publish | MessageQueue (amqp): 96/s | raw amqplib: 100/s (reference) | 0.96× |',
    );
    expect(page).toContain('**round trips**');
  });

  it('docs/benchmarks.md is the report of bench/results (regenerate it after a bench run)', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'scripts/bench-report.mts', '--check'], {
      encoding: 'utf8',
    });
    expect(out).toContain('matches bench/results');
  });
});
