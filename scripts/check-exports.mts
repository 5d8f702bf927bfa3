/**
 * Fails when the `exports` map of package.json and the tsup build entries
 * disagree: every entry must have a subpath, every subpath an entry, and each
 * target file must exist in dist/ after a build.
 */
import { existsSync, readFileSync } from 'node:fs';
import { entries } from '../tsup.config.js';

type Conditions = { import: { types: string; default: string }; require: { types: string; default: string } };

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  exports: Record<string, Conditions | string>;
  files: string[];
};
const problems: string[] = [];

const subpathFor = (entry: string) => (entry === 'index' ? '.' : `./${entry}`);
const expected = new Map(Object.keys(entries).map((name) => [subpathFor(name), name]));

for (const [subpath, name] of expected) {
  const target = pkg.exports[subpath];
  if (target === undefined) {
    problems.push(`build entry "${name}" has no "${subpath}" in package.json exports`);
    continue;
  }
  if (typeof target === 'string') {
    problems.push(`exports["${subpath}"] must have import/require conditions`);
    continue;
  }
  const want: Conditions = {
    import: { types: `./dist/${name}.d.ts`, default: `./dist/${name}.js` },
    require: { types: `./dist/${name}.d.cts`, default: `./dist/${name}.cjs` },
  };
  for (const cond of ['import', 'require'] as const) {
    const got = target[cond];
    if (got === undefined) {
      problems.push(`exports["${subpath}"] lacks the "${cond}" condition`);
      continue;
    }
    if (Object.keys(got)[0] !== 'types')
      problems.push(`exports["${subpath}"].${cond}: "types" must come first`);
    for (const field of ['types', 'default'] as const) {
      if (got[field] !== want[cond][field]) {
        problems.push(
          `exports["${subpath}"].${cond}.${field} is ${got[field]}, expected ${want[cond][field]}`,
        );
      }
      const file = new URL(`../${got[field]}`, import.meta.url);
      if (process.argv.includes('--built') && !existsSync(file)) {
        problems.push(
          `exports["${subpath}"].${cond}.${field} points at ${got[field]}, which the build did not make`,
        );
      }
    }
  }
}
for (const subpath of Object.keys(pkg.exports)) {
  if (subpath === './package.json') continue;
  if (!expected.has(subpath)) problems.push(`exports["${subpath}"] has no build entry in tsup.config.ts`);
}
if (JSON.stringify(pkg.files) !== JSON.stringify(['dist']))
  problems.push('package.json "files" must be ["dist"]');

if (problems.length > 0) {
  console.error(`check-exports: ${problems.length} problem(s)\n- ${problems.join('\n- ')}`);
  process.exit(1);
}
console.log(`check-exports: ${expected.size} entries match the exports map`);
