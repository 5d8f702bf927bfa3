/**
 * `@opentelemetry/api` is an optional peer: the built package loads and
 * works where it is not installed. The build (`npx tsup`) is copied into a
 * temporary `node_modules/scaleout` beside its real dependencies only, so
 * nothing there can resolve the API; a script then runs a ServiceClient
 * call to a loopback server and a message through a MessageQueue, as ES
 * module and as CommonJS.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);

const SCRIPT = `
const { ServiceClient, MessageQueue } = SCALEOUT;
const http = require('node:http');
let hidden = false;
try { require.resolve('@opentelemetry/api'); } catch { hidden = true; }
if (!hidden) {
  // The API is there: register the SDK and the W3C propagator.
  const api = require('@opentelemetry/api');
  const { BasicTracerProvider } = require('@opentelemetry/sdk-trace-base');
  const { W3CTraceContextPropagator } = require('@opentelemetry/core');
  api.trace.setGlobalTracerProvider(new BasicTracerProvider());
  api.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
}
const server = http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ traceparent: req.headers.traceparent ?? null }));
});
server.listen(0, '127.0.0.1', async () => {
  const client = new ServiceClient({ baseUrl: 'http://127.0.0.1:' + server.address().port });
  const body = await client.get('/x');
  await client.close();
  server.close();
  const queue = new MessageQueue();
  const got = new Promise((resolve) => queue.consume('t', (m, c) => resolve([m, c.headers])));
  await queue.publish('t', { n: 1 });
  const [message, headers] = await got;
  await queue.close();
  console.log(JSON.stringify({ hidden, body, message, headers }));
});
`;

function packageDir(name: string): string {
  let dir = dirname(require.resolve(name));
  while (!existsSync(join(dir, 'package.json')) || !dir.endsWith(name)) dir = dirname(dir);
  return dir;
}

describe('scaleout without @opentelemetry/api installed', () => {
  let root: string;
  beforeAll(() => {
    if (!existsSync('dist/index.js') || !existsSync('dist/index.cjs')) {
      throw new Error('build first: npx tsup --silent');
    }
    root = mkdtempSync(join(tmpdir(), 'scaleout-no-otel-'));
    const modules = join(root, 'node_modules');
    mkdirSync(join(modules, 'scaleout'), { recursive: true });
    cpSync('dist', join(modules, 'scaleout', 'dist'), { recursive: true });
    cpSync('package.json', join(modules, 'scaleout', 'package.json'));
    for (const dep of ['axios', 'jose', 'uuid']) symlinkSync(packageDir(dep), join(modules, dep), 'dir');
    writeFileSync(
      join(root, 'esm.mjs'),
      `import { createRequire } from 'node:module';\nimport * as SCALEOUT from 'scaleout';\nconst require = createRequire(import.meta.url);\n${SCRIPT}`,
    );
    writeFileSync(join(root, 'cjs.cjs'), `const SCALEOUT = require('scaleout');\n${SCRIPT}`);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  for (const file of ['esm.mjs', 'cjs.cjs']) {
    it(`loads and works (${file}): a call and a message, no trace header`, () => {
      const run = spawnSync(process.execPath, [file], { cwd: root, encoding: 'utf8', timeout: 20_000 });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      const out = JSON.parse(run.stdout) as Record<string, unknown>;
      expect(out).toEqual({ hidden: true, body: { traceparent: null }, message: { n: 1 }, headers: {} });
    });
  }

  describe('and with it installed beside the same build', () => {
    beforeAll(() => {
      const otel = join(root, 'node_modules', '@opentelemetry');
      mkdirSync(otel, { recursive: true });
      for (const name of ['api', 'sdk-trace-base', 'core']) {
        symlinkSync(packageDir(`@opentelemetry/${name}`), join(otel, name), 'dir');
      }
    });
    for (const file of ['esm.mjs', 'cjs.cjs']) {
      it(`finds it as a peer and traces (${file})`, () => {
        const run = spawnSync(process.execPath, [file], { cwd: root, encoding: 'utf8', timeout: 20_000 });
        expect(run.stderr).toBe('');
        expect(run.status).toBe(0);
        const out = JSON.parse(run.stdout) as {
          hidden: boolean;
          body: { traceparent: string };
          headers: object;
        };
        expect(out.hidden).toBe(false);
        expect(out.body.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      });
    }
  });
});
