/**
 * `npm run example [name]`: runs one example, or every example in turn.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = new URL('.', import.meta.url).pathname;
const available = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .map((f) => f.slice(0, -3))
  .sort();
const wanted = process.argv.slice(2);
const names = wanted.length > 0 ? wanted : available;
for (const name of names) {
  if (!available.includes(name)) {
    console.error(`no example named "${name}"; available: ${available.join(', ')}`);
    process.exit(2);
  }
  console.log(`\n=== example: ${name}\n`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(dir, `${name}.ts`)], {
    stdio: 'inherit',
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
