import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { layoutProblems, MAX_LINES } from '../../../scripts/check-layout.mjs';

describe('scripts/check-layout', () => {
  let root: string;
  const tree = (files: Record<string, string>) => {
    root = mkdtempSync(join(tmpdir(), 'scaleout-layout-test-'));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    return root;
  };
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('passes a tree within the budget and without cycles', () => {
    const ok = tree({
      'src/a.ts': "import { b } from './b.js';\nexport const a = b;\n",
      'src/b.ts': 'export const b = 1;\n',
    });
    expect(layoutProblems(ok, {}, {})).toEqual([]);
  });

  it('fails a file over the budget unless it is a stated exception, and a stale exception', () => {
    const big = tree({ 'src/big.ts': 'export const x = 1;\n'.repeat(MAX_LINES + 1), 'src/small.ts': '' });
    expect(layoutProblems(big, {}, {})).toEqual([
      `src/big.ts has ${MAX_LINES + 1} lines (> ${MAX_LINES}): split it by concept, one concept per file`,
    ]);
    expect(layoutProblems(big, { 'src/big.ts': 'reason' }, {})).toEqual([]);
    expect(layoutProblems(big, { 'src/big.ts': 'reason', 'src/small.ts': 'reason' }, {})).toEqual([
      'src/small.ts has 0 lines: remove it from EXCEPTIONS in scripts/check-layout.mts',
    ]);
  });

  it('fails an import cycle, type-only imports and re-exports included', () => {
    const cyclic = tree({
      'src/x/one.ts': "import type { B } from './two.js';\nexport type A = B;\n",
      'src/x/two.ts': "export { a } from '../y/three.js';\nexport type B = string;\n",
      'src/y/three.ts': "import type { A } from '../x/one.js';\nexport const a: A | undefined = undefined;\n",
    });
    expect(layoutProblems(cyclic, {}, {})).toEqual([
      'import cycle: src/x/one.ts <-> src/x/two.ts <-> src/y/three.ts',
    ]);
    const allowed = { 'src/x/one.ts <-> src/x/two.ts <-> src/y/three.ts': 'reason' };
    expect(layoutProblems(cyclic, {}, allowed)).toEqual([]);
    expect(layoutProblems(tree({ 'src/a.ts': '' }), {}, allowed)).toEqual([
      'src/x/one.ts <-> src/x/two.ts <-> src/y/three.ts is in ALLOWED_CYCLES but is no cycle: remove it',
    ]);
  });

  it('fails a bench that reaches src/, directly or through a helper; dist/ passes', () => {
    const benches = tree({
      'src/a.ts': 'export const a = 1;\n',
      'dist/index.js': 'export const a = 1;\n',
      'bench/ok.bench.ts':
        "import { a } from '../dist/index.js';\nimport { h } from '../test/helpers/ok.js';\n",
      'bench/direct.bench.ts': "import { a } from '../src/a.js';\n",
      'bench/helped.bench.ts': "import { h } from '../test/helpers/bad.js';\n",
      'test/helpers/ok.ts': 'export const h = 1;\n',
      'test/helpers/bad.ts': "import type { a } from '../../src/a.js';\nexport const h: typeof a = 1;\n",
    });
    expect(layoutProblems(benches, {}, {}).sort()).toEqual([
      'bench/direct.bench.ts -> src/a.ts: benches import the built package (dist/), not src/',
      'bench/helped.bench.ts -> test/helpers/bad.ts -> src/a.ts: benches import the built package (dist/), not src/',
    ]);
  });
});
