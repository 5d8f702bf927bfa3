#!/usr/bin/env node
// Installs the locked dependencies (npm ci) when node_modules is missing or
// older than package-lock.json; otherwise does nothing. Shared by `npm test`
// (scripts/test.sh) and every `npm run example*` (scripts/example.mjs), so a
// fresh clone needs no separate install step. Plain Node: it runs before any
// dependency exists. Prints one line while it installs; npm's own output is
// shown only if the install fails.
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Why node_modules must be (re)installed, or undefined when it is current. */
export function staleReason(dir = root) {
  const installed = join(dir, 'node_modules', '.package-lock.json');
  if (!existsSync(join(dir, 'node_modules'))) return 'node_modules is missing';
  // A node_modules linked from elsewhere belongs to another checkout: npm ci
  // would empty its target. Leave it to its owner.
  if (lstatSync(join(dir, 'node_modules')).isSymbolicLink()) return undefined;
  if (!existsSync(installed)) return 'node_modules was not installed by npm ci';
  if (statSync(join(dir, 'package-lock.json')).mtimeMs > statSync(installed).mtimeMs) {
    return 'package-lock.json changed since the last install';
  }
  return undefined;
}

/** Runs npm ci when needed; exits the process with npm's status if it fails. */
export function ensureDeps(dir = root) {
  const reason = staleReason(dir);
  if (reason === undefined) return false;
  process.stdout.write(`scaleout: ${reason}; installing the locked dependencies (npm ci)...\n`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    shell: process.platform === 'win32',
  });
  if (result.status !== 0) {
    process.stderr.write(result.stdout ?? '');
    process.stderr.write(result.stderr ?? '');
    process.stderr.write(`scaleout: npm ci failed (${result.error?.message ?? `exit ${result.status}`})\n`);
    process.exit(result.status || 1);
  }
  return true;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) ensureDeps();
