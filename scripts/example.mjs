#!/usr/bin/env node
// `npm run example*`: installs the locked dependencies first when needed
// (scripts/ensure-deps.mjs, the same check `npm test` uses), then runs the
// example file with tsx, passing the remaining arguments and the exit status.
// Usage: node scripts/example.mjs examples/cache.ts [args...]
import { spawn } from 'node:child_process';
import { ensureDeps } from './ensure-deps.mjs';

const [file, ...args] = process.argv.slice(2);
if (file === undefined) {
  process.stderr.write('usage: node scripts/example.mjs <example file> [args...]\n');
  process.exit(2);
}
ensureDeps();
const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], { stdio: 'inherit' });
// Ctrl-C reaches the child from the terminal itself; a SIGTERM sent to this
// process alone (a process manager) is passed on.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => child.kill('SIGTERM'));
child.on('exit', (code, signal) => {
  if (signal !== null) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
