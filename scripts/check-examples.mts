/**
 * Type-checks every ```ts example: the `@example` blocks of the TSDoc in
 * src/ and the ```ts blocks of README.md and docs/*.md, against the real API
 * (the package's entries mapped to src/), with the project's compiler
 * settings. An example that does not compile teaches the wrong thing.
 *
 * How a block becomes a module:
 * - its own `import` lines stay (`scaleout`, `scaleout/redis`... resolve to
 *   src/); a block without imports gets one for every public name it uses;
 * - the rest runs inside an async function, so `await` and `return` work;
 * - a name the block uses without declaring (`redis`, `db`, `req`) is
 *   declared for it: with its scaleout type where the name is conventional
 *   (`cache` is a DistributedCache, `locks` a DistributedLock...), else as
 *   `any`. Everything else must type-check: wrong methods, option keys,
 *   argument types and event names fail.
 * Run by `npm test`; `node --import tsx scripts/check-examples.mts` alone
 * prints each failure with where the block came from.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');

/** The package's entries, as users import them. */
const ENTRIES: Readonly<Record<string, string>> = {
  scaleout: 'src/index.ts',
  'scaleout/redis': 'src/redis.ts',
  'scaleout/amqp': 'src/amqp.ts',
  'scaleout/express': 'src/express.ts',
  'scaleout/fastify': 'src/fastify.ts',
  'scaleout/koa': 'src/koa.ts',
  'scaleout/testing': 'src/testing.ts',
};

/** Conventional names and the type an example means by them. */
const CONVENTIONAL: Readonly<Record<string, string>> = {
  cache: 'import("scaleout").DistributedCache',
  locks: 'import("scaleout").DistributedLock',
  lock: 'import("scaleout").DistributedLock',
  semaphore: 'import("scaleout").DistributedSemaphore',
  registry: 'import("scaleout").ServiceRegistry',
  monitor: 'import("scaleout").PerformanceMonitor',
  queue: 'import("scaleout").MessageQueue',
  sessions: 'import("scaleout").SessionStore<any>',
  limiter: 'import("scaleout").RateLimiter',
  client: 'import("scaleout").ServiceClient',
  orders: 'import("scaleout").ServiceClient',
  pricing: 'import("scaleout").ServiceClient',
  payment: 'import("scaleout").ServiceClient',
  serializer: 'import("scaleout").Serializer',
  inventory: 'import("scaleout").ServiceClient',
  jwt: 'import("scaleout").Jwt',
  lease: 'import("scaleout").Lease',
  redis: 'import("ioredis").Redis',
};

export interface Example {
  /** Where it came from, for messages: `src/cache/cache.ts:120` or `docs/cache.md:40`. */
  readonly where: string;
  readonly code: string;
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...walk(path));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** The ```ts blocks of a markdown text. */
export function markdownExamples(file: string, text: string): Example[] {
  const out: Example[] = [];
  for (const match of text.matchAll(/^```ts\n([\s\S]*?)^```/gm)) {
    const line = text.slice(0, match.index).split('\n').length;
    out.push({ where: `${file}:${line}`, code: match[1]! });
  }
  return out;
}

/** The ```ts blocks inside `@example` tags of a source text's TSDoc comments. */
export function tsdocExamples(file: string, text: string): Example[] {
  const out: Example[] = [];
  for (const comment of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    const body = comment[0]
      .split('\n')
      .map((l) => l.replace(/^\s*\/?\*\*?\/?\s?/, '').replace(/\*\/$/, ''))
      .join('\n');
    const at = body.indexOf('@example');
    if (at === -1) continue;
    const startLine = text.slice(0, comment.index).split('\n').length;
    for (const block of body.slice(at).matchAll(/```ts\n([\s\S]*?)```/g)) {
      const line = startLine + body.slice(0, at + (block.index ?? 0)).split('\n').length;
      out.push({ where: `${file}:${line}`, code: block[1]! });
    }
  }
  return out;
}

/** Every example of the repository. */
export function allExamples(): Example[] {
  const out: Example[] = [];
  for (const file of walk(join(root, 'src'))) {
    out.push(...tsdocExamples(relative(root, file), readFileSync(file, 'utf8')));
  }
  const docs = readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md'));
  for (const file of ['README.md', ...docs.map((f) => `docs/${f}`)]) {
    out.push(...markdownExamples(file, readFileSync(join(root, file), 'utf8')));
  }
  return out;
}

const OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2023.d.ts'],
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  types: ['node'],
  strict: true,
  // Undeclared names are `any` (see above): their callbacks' parameters too.
  noImplicitAny: false,
  noUncheckedIndexedAccess: true,
  skipLibCheck: true,
  noEmit: true,
  allowImportingTsExtensions: false,
  baseUrl: root,
  paths: Object.fromEntries(Object.entries(ENTRIES).map(([k, v]) => [k, [v]])),
};

/** Public names of each entry (to import what a block uses without importing). */
function publicNames(): Map<string, string> {
  const program = ts.createProgram(
    Object.values(ENTRIES).map((f) => join(root, f)),
    OPTIONS,
  );
  const checker = program.getTypeChecker();
  const names = new Map<string, string>();
  for (const [specifier, file] of Object.entries(ENTRIES)) {
    const source = program.getSourceFile(join(root, file));
    const symbol = source && checker.getSymbolAtLocation(source);
    if (!symbol) continue;
    for (const exported of checker.getExportsOfModule(symbol)) {
      if (!names.has(exported.name)) names.set(exported.name, specifier);
    }
  }
  return names;
}

const IMPORT_LINE =
  /^\s*import\s[\s\S]*?from\s+['"][^'"]+['"];?[ \t]*(?:\/\/[^\n]*)?$|^\s*import\s+['"][^'"]+['"];?[ \t]*(?:\/\/[^\n]*)?$/gm;

/** The module text for one example, given the names to declare for it. */
function moduleText(example: Example, exportsByName: Map<string, string>, free: ReadonlySet<string>): string {
  const hoisted: string[] = [];
  // The reader's own files (`../src/pg-session-adapter.js`): their names are `any`.
  const code = example.code.replace(IMPORT_LINE, (line) => {
    if (!/from\s+['"]\.{1,2}\//.test(line)) return line;
    const clause = /^\s*import\s+(?:type\s+)?\{([^}]*)\}/.exec(line)?.[1] ?? '';
    for (const part of clause.split(',')) {
      const name = part
        .replace(/^\s*type\s+/, '')
        .split(/\s+as\s+/)
        .pop()!
        .trim();
      if (name) hoisted.push(`declare const ${name}: any;\ntype ${name} = any;`);
    }
    return '';
  });
  const imports = code.match(IMPORT_LINE) ?? [];
  let body = code.replace(IMPORT_LINE, '');
  body = body.replace(/^\s*declare\s[^\n]*$/gm, (line) => {
    hoisted.push(line.trim());
    return '';
  });
  body = body.replace(
    /^(\s*)export\s+(?=(?:default\s+)?(?:async\s+)?(?:function|class|const|let|interface|type|enum)\b)/gm,
    '$1',
  );
  // The names an import line binds: what stands between `import` and `from`.
  const imported = new Set<string>();
  for (const line of imports) {
    const clause = /^\s*import\s+(?:type\s+)?([\s\S]*?)\s+from\s/.exec(line)?.[1] ?? '';
    for (const m of clause.matchAll(/(?:\bas\s+)?\b([A-Za-z_$][\w$]*)\b(?!\s+as\b)/g)) imported.add(m[1]!);
  }
  const prelude: string[] = [];
  if (imports.length === 0) {
    const bySpecifier = new Map<string, string[]>();
    const words = new Set([...body.matchAll(/(?<![.\w$'"`])([A-Za-z_$][\w$]*)\b/g)].map((m) => m[1]!));
    for (const word of words) {
      const specifier = exportsByName.get(word);
      if (specifier === undefined || free.has(word)) continue;
      bySpecifier.set(specifier, [...(bySpecifier.get(specifier) ?? []), word]);
    }
    for (const [specifier, names] of bySpecifier)
      prelude.push(`import { ${names.join(', ')} } from '${specifier}';`);
  }
  for (const name of free) {
    if (imported.has(name)) continue;
    const type = CONVENTIONAL[name];
    // A free name may be used as a value or as a type (`cache.get<User>()`).
    prelude.push(
      type === undefined
        ? `declare const ${name}: any;\ntype ${name} = any;`
        : `declare const ${name}: ${type};`,
    );
  }
  return [
    ...imports.map((l) => l.trim()),
    ...prelude,
    ...hoisted,
    'export async function example() {',
    body,
    '}',
    '',
  ].join('\n');
}

/** Type-checks the examples; returns one line per problem. */
export function checkExamples(examples: readonly Example[]): string[] {
  const exportsByName = publicNames();
  const dir = join(root, '.tmp', `examples-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  try {
    const fileOf = (i: number) => join(dir, `example-${i}.ts`);
    const free = examples.map(() => new Set<string>());
    // Packages the reader would install (pg, @aws-sdk/...) but this repository does not have.
    const missingModules = new Set<string>();
    const ambient = join(dir, 'missing-modules.d.ts');
    const compile = () => {
      for (const [i, example] of examples.entries()) {
        writeFileSync(fileOf(i), moduleText(example, exportsByName, free[i]!));
      }
      writeFileSync(ambient, [...missingModules].map((m) => `declare module '${m}';`).join('\n'));
      const program = ts.createProgram([...examples.map((_, i) => fileOf(i)), ambient], OPTIONS);
      return ts.getPreEmitDiagnostics(program).filter((d) => d.file?.fileName.startsWith(dir));
    };
    // Pass 1 finds the names each block uses without declaring; pass 2 checks with them declared.
    for (const d of compile()) {
      const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
      const missing = /^Cannot find module '([^'.][^']*)'/.exec(message)?.[1];
      if (missing !== undefined && !missing.startsWith('scaleout')) missingModules.add(missing);
      const name = /^(?:Cannot find name|No value exists in scope for the shorthand property) '([^']+)'/.exec(
        message,
      )?.[1];
      if (name === undefined) continue;
      free[Number(/example-(\d+)\.ts$/.exec(d.file!.fileName)![1])]!.add(name);
    }
    return compile().map((d) => {
      const i = Number(/example-(\d+)\.ts$/.exec(d.file!.fileName)![1]);
      const text = d.file!.text;
      const line = text.slice(0, d.start ?? 0).split('\n').length;
      const snippet = text.split('\n')[line - 1]?.trim().slice(0, 120) ?? '';
      return `${examples[i]!.where}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')} [${snippet}]`;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (
  process.argv[1] !== undefined &&
  resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)
) {
  const examples = allExamples();
  const problems = checkExamples(examples);
  if (problems.length > 0) {
    console.error(problems.map((p) => `check-examples: ${p}`).join('\n'));
    console.error(`check-examples: ${problems.length} problem(s) in ${examples.length} examples`);
    process.exit(1);
  }
  console.log(`check-examples: ${examples.length} examples type-check against src/`);
}
