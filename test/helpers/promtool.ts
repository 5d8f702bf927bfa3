import { spawnSync } from 'node:child_process';

/** Runs `promtool check metrics` (Debian's prometheus package) on an exposition text. */
export function promtoolCheck(text: string): { status: number | null; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], {
    input: text,
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}
