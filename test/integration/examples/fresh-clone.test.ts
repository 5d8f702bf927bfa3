import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const INSTALL_LINE = /^scaleout: (.+); installing the locked dependencies \(npm ci\)\.\.\.$/m;

/**
 * A copy of the repository as a clone has it (tracked and new files, no
 * node_modules, no dist): what a newcomer has before the first command.
 */
function freshClone(): string {
  const dir = mkdtempSync(join(tmpdir(), 'scaleout-fresh-'));
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { encoding: 'utf8' })
    .split('\0')
    .filter((f) => f !== '' && existsSync(f));
  for (const file of files) {
    mkdirSync(join(dir, dirname(file)), { recursive: true });
    cpSync(file, join(dir, file));
  }
  return dir;
}

/**
 * npm run in the clone. `npm_config_offline` makes npm ci install from the
 * local npm cache (filled by the install that ran before this suite), so the
 * test downloads nothing.
 */
function npmRun(dir: string, script: string) {
  const result = spawnSync('npm', ['run', '--silent', script], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 240_000,
    env: { ...process.env, npm_config_offline: 'true', npm_config_update_notifier: 'false' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('a fresh clone needs two commands', () => {
  const dir = freshClone();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('npm run example:* installs the locked dependencies first, printing one line, then runs', () => {
    expect(existsSync(join(dir, 'node_modules'))).toBe(false);
    const first = npmRun(dir, 'example:safe-payloads');
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout.match(new RegExp(INSTALL_LINE.source, 'gm'))).toHaveLength(1);
    expect(first.stdout).toMatch(INSTALL_LINE);
    expect(INSTALL_LINE.exec(first.stdout)?.[1]).toBe('node_modules is missing');
    expect(first.stdout).toContain('ok    a plain record');
    expect(first.stdout).toContain('isAdmin is still undefined');
    expect(existsSync(join(dir, 'node_modules', '.package-lock.json'))).toBe(true);

    // Installed and current: no second install.
    const second = npmRun(dir, 'example:safe-payloads');
    expect(second.status).toBe(0);
    expect(second.stdout).not.toMatch(INSTALL_LINE);
    expect(second.stdout).toContain('ok    a plain record');

    // A lock file newer than the install makes it stale again.
    const future = new Date(Date.now() + 60_000);
    utimesSync(join(dir, 'package-lock.json'), future, future);
    const third = npmRun(dir, 'example:safe-payloads');
    expect(third.status).toBe(0);
    expect(INSTALL_LINE.exec(third.stdout)?.[1]).toBe('package-lock.json changed since the last install');
  }, 600_000);

  it('every example script and npm test go through the one shared install check', () => {
    const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> })
      .scripts;
    const examples = Object.entries(scripts).filter(
      ([name]) => name === 'example' || name.startsWith('example:'),
    );
    expect(examples.length).toBeGreaterThan(8);
    for (const [name, command] of examples) {
      expect(command, name).toMatch(/^node scripts\/example\.mjs examples\/[\w/-]+\.ts$/);
      expect(existsSync(command.split(' ')[2]!), name).toBe(true);
    }
    expect(scripts.test).toBe('bash scripts/test.sh');
    expect(readFileSync('scripts/test.sh', 'utf8')).toContain('node scripts/ensure-deps.mjs');
    expect(readFileSync('scripts/test.sh', 'utf8')).not.toMatch(/^\s*npm ci/m);
  });
});
