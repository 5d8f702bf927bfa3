/**
 * The ```ts blocks of docs/rate-limiter.md compile against the real API:
 * each block is written out as a module importing `scaleout`,
 * `scaleout/redis`, `scaleout/express` or `scaleout/testing` (mapped to
 * src/) and type-checked with the project's compiler settings.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = new URL('../../../', import.meta.url).pathname;

describe('docs/rate-limiter.md', () => {
  it('every ```ts example type-checks against src/', () => {
    const guide = readFileSync(join(root, 'docs/rate-limiter.md'), 'utf8');
    const blocks = [...guide.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThanOrEqual(6);
    const dir = join(root, '.tmp', `guide-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    try {
      const files = blocks.map((code, i) => {
        const file = join(dir, `example-${i}.ts`);
        writeFileSync(file, `${code}\nexport {};\n`);
        return file;
      });
      const program = ts.createProgram(files, {
        target: ts.ScriptTarget.ES2022,
        lib: ['lib.es2023.d.ts'],
        module: ts.ModuleKind.ESNext,
        moduleResolution: ts.ModuleResolutionKind.Bundler,
        types: ['node'],
        strict: true,
        noUncheckedIndexedAccess: true,
        skipLibCheck: true,
        noEmit: true,
        baseUrl: root,
        paths: { scaleout: ['src/index.ts'], 'scaleout/*': ['src/*.ts'] },
      });
      const problems = ts
        .getPreEmitDiagnostics(program)
        .filter((d) => d.file === undefined || d.file.fileName.startsWith(dir))
        .map((d) => {
          const where = d.file
            ? `${d.file.fileName.slice(dir.length + 1)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}`
            : '';
          return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
        });
      expect(problems).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
