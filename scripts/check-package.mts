/**
 * Packaging checks on the built package:
 * 1. publint and @arethetypeswrong/cli pass;
 * 2. `npm pack` makes a tarball that installs into an empty project, where
 *    every subpath loads with both `require()` and `import()`;
 * 3. the core entry loads with no optional peer installed (it must never
 *    pull in ioredis or amqplib).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  exports: Record<string, unknown>;
  devDependencies: Record<string, string>;
};

function run(cmd: string, args: string[], cwd = root): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    console.error(`check-package: ${cmd} ${args.join(' ')} failed\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    process.exit(1);
  }
}

run('npx', ['publint', '--strict']);
console.log('check-package: publint ok');
run('npx', ['attw', '--pack', '.', '--profile', 'node16', '--format', 'table-flipped']);
console.log('check-package: are-the-types-wrong ok (node16 profile)');

const work = mkdtempSync(join(tmpdir(), 'scaleout-pack-'));
try {
  const tarball = run('npm', ['pack', '--silent', '--pack-destination', work]).trim().split('\n').pop()!;
  writeFileSync(
    join(work, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, version: '0.0.0' }),
  );
  const npmInstall = (...specs: string[]) =>
    run(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...specs],
      work,
    );
  npmInstall(join(work, tarball));

  const subpaths = Object.keys(pkg.exports)
    .filter((s) => s !== './package.json')
    .map((s) => (s === '.' ? 'scaleout' : `scaleout/${s.slice(2)}`));
  const needsPeer = new Set(['scaleout/redis', 'scaleout/amqp']);
  const load = (specs: string[]) => {
    for (const spec of specs) {
      run(
        'node',
        ['-e', `const m = require(${JSON.stringify(spec)}); if (typeof m !== 'object') process.exit(1);`],
        work,
      );
      run(
        'node',
        [
          '--input-type=module',
          '-e',
          `const m = await import(${JSON.stringify(spec)}); if (typeof m !== 'object') process.exit(1);`,
        ],
        work,
      );
    }
  };

  // Without optional peers: everything but the peer-backed entries loads.
  load(subpaths.filter((s) => !needsPeer.has(s)));
  run(
    'node',
    [
      '-e',
      "const { isScaleoutError, InvalidArgumentError } = require('scaleout'); if (!isScaleoutError(new InvalidArgumentError('x'))) process.exit(1);",
    ],
    work,
  );
  console.log(
    'check-package: core entries load under require() and import() with no optional peer installed',
  );

  const peers = ['ioredis', 'amqplib'].map((name) => `${name}@${pkg.devDependencies[name]}`);
  npmInstall(...peers);
  load(subpaths);
  // The CJS and ESM builds are two copies of the error classes: the brand still recognises both.
  run(
    'node',
    [
      '--input-type=module',
      '-e',
      "import { createRequire } from 'node:module'; const cjs = createRequire(import.meta.url)('scaleout'); const esm = await import('scaleout'); if (!esm.isScaleoutError(new cjs.TimeoutError('t'), 'ERR_TIMEOUT')) process.exit(1);",
    ],
    work,
  );
  console.log(
    `check-package: ${subpaths.length} subpaths load under require() and import() from the packed tarball`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
