/**
 * The layout rules of DESIGN.md that a linter does not know:
 * - no file in src/ over 500 lines, but for the stated exceptions below
 *   (each with its reason; an exception that no longer needs it fails too,
 *   so the list only shrinks);
 * - no import cycle among the files of src/, type-only imports included
 *   (a cycle through types still couples two concepts' files);
 * - benches measure the package users install: no file of bench/ reaches
 *   src/, directly or through a helper it imports (they import dist/).
 * Run by `npm run lint` and `npm test`; `--self-test` shows that the
 * checks fail on a tree that breaks them.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';

export const MAX_LINES = 500;

/** Files allowed over {@link MAX_LINES}, and why. Shrink it; never grow it without a reason. */
export const EXCEPTIONS: Readonly<Record<string, string>> = {
  'src/errors.ts': 'the closed list of error classes, one short class per code (DESIGN.md)',
};

/** Import cycles allowed for now, as `a <-> b` in sorted order, and why. Only shrinks. */
export const ALLOWED_CYCLES: Readonly<Record<string, string>> = {};

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"](\.{1,2}\/[^'"]+)['"]/g;

/** Every problem found under `root` (a repository root holding src/). */
export function layoutProblems(
  root: string,
  exceptions: Readonly<Record<string, string>> = EXCEPTIONS,
  allowedCycles: Readonly<Record<string, string>> = ALLOWED_CYCLES,
): string[] {
  const cyclesSeen = new Set<string>();
  const problems: string[] = [];
  const files = sourceFiles(join(root, 'src')).map((f) => relative(root, f).split('\\').join('/'));
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8');
    const lines = text === '' ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    if (lines > MAX_LINES && !(file in exceptions)) {
      problems.push(`${file} has ${lines} lines (> ${MAX_LINES}): split it by concept, one concept per file`);
    }
    if (lines <= MAX_LINES && file in exceptions) {
      problems.push(`${file} has ${lines} lines: remove it from EXCEPTIONS in scripts/check-layout.mts`);
    }
    const deps: string[] = [];
    for (const match of text.matchAll(IMPORT)) {
      const target = relative(root, resolve(root, dirname(file), match[1]!))
        .split('\\')
        .join('/');
      deps.push(target.replace(/\.js$/, '.ts'));
    }
    graph.set(file, deps);
  }
  for (const file of Object.keys(exceptions)) {
    if (!files.includes(file)) problems.push(`${file} is in EXCEPTIONS but does not exist`);
  }
  // Tarjan's strongly connected components: each component of more than one file is a cycle.
  let index = 0;
  const stack: string[] = [];
  const onStack = new Set<string>();
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const visit = (v: string): void => {
    indexOf.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!indexOf.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, indexOf.get(w)!));
      }
    }
    if (low.get(v) === indexOf.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) {
        const cycle = component.sort().join(' <-> ');
        cyclesSeen.add(cycle);
        if (!(cycle in allowedCycles)) problems.push(`import cycle: ${cycle}`);
      }
    }
  };
  for (const file of files) if (!indexOf.has(file)) visit(file);
  for (const cycle of Object.keys(allowedCycles)) {
    if (!cyclesSeen.has(cycle)) problems.push(`${cycle} is in ALLOWED_CYCLES but is no cycle: remove it`);
  }
  problems.push(...benchProblems(root));
  return problems;
}

/** Relative imports of `file` (repository-relative, `.ts`), as repository-relative paths. */
function relativeImports(root: string, file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  return [...text.matchAll(IMPORT)].map((match) =>
    relative(root, resolve(root, dirname(file), match[1]!))
      .split('\\')
      .join('/')
      .replace(/\.js$/, '.ts'),
  );
}

/** Every bench file that reaches src/ (directly or through what it imports), with the path. */
function benchProblems(root: string): string[] {
  if (!existsSync(join(root, 'bench'))) return [];
  const problems: string[] = [];
  const benches = sourceFiles(join(root, 'bench')).map((f) => relative(root, f).split('\\').join('/'));
  for (const bench of benches) {
    const seen = new Set<string>([bench]);
    const queue: string[][] = [[bench]];
    while (queue.length > 0) {
      const path = queue.shift()!;
      const file = path[path.length - 1]!;
      const imports = relativeImports(root, file);
      const reached = imports.find((target) => target.startsWith('src/'));
      if (reached !== undefined) {
        problems.push(
          `${[...path, reached].join(' -> ')}: benches import the built package (dist/), not src/`,
        );
        break;
      }
      for (const target of imports) {
        if (seen.has(target) || target.startsWith('dist/') || !existsSync(join(root, target))) continue;
        seen.add(target);
        queue.push([...path, target]);
      }
    }
  }
  return problems;
}

function selfTest(): void {
  const root = mkdtempSync(join(tmpdir(), 'scaleout-layout-'));
  try {
    mkdirSync(join(root, 'src', 'a'), { recursive: true });
    writeFileSync(join(root, 'src', 'a', 'big.ts'), 'export const x = 1;\n'.repeat(MAX_LINES + 1));
    writeFileSync(
      join(root, 'src', 'a', 'one.ts'),
      "import type { B } from './two.js';\nexport type A = B;\n",
    );
    writeFileSync(
      join(root, 'src', 'a', 'two.ts'),
      "import { a } from './one.js';\nexport type B = typeof a;\n",
    );
    mkdirSync(join(root, 'bench'));
    writeFileSync(join(root, 'bench', 'a.bench.ts'), "import { a } from '../src/a/one.js';\nexport { a };\n");
    const problems = layoutProblems(root, {}, {});
    const big = problems.some((p) => p.startsWith('src/a/big.ts has 501 lines'));
    const cycle = problems.some((p) => p === 'import cycle: src/a/one.ts <-> src/a/two.ts');
    const bench = problems.some((p) => p.startsWith('bench/a.bench.ts -> src/a/one.ts:'));
    console.log(problems.join('\n'));
    if (!big || !cycle || !bench || problems.length !== 3)
      throw new Error('check-layout self-test: a problem went unseen');
    console.log('check-layout self-test: every check fails on a tree that breaks it');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (
  process.argv[1] !== undefined &&
  resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)
) {
  if (process.argv.includes('--self-test')) selfTest();
  const problems = layoutProblems(resolve(dirname(new URL(import.meta.url).pathname), '..'));
  if (problems.length > 0) {
    console.error(problems.map((p) => `check-layout: ${p}`).join('\n'));
    process.exit(1);
  }
  console.log(
    `check-layout: every src file within ${MAX_LINES} lines (${Object.keys(EXCEPTIONS).length} stated exceptions), no import cycle (${Object.keys(ALLOWED_CYCLES).length} stated), benches import dist/ only`,
  );
}
