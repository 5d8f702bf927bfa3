import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

function runExample(name: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', `examples/${name}.ts`], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('examples', () => {
  it('safe-payloads shows each refusal with its code and no pollution', () => {
    const { status, stdout, stderr } = runExample('safe-payloads');
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(stdout).toContain('ok    a plain record');
    expect(stdout).toMatch(/ERR_UNSAFE_PAYLOAD\s+a prototype-pollution payload/);
    expect(stdout).toMatch(/ERR_DESERIALIZE\s+truncated JSON/);
    expect(stdout).not.toContain('s3cr');
    expect(stdout).toMatch(/ERR_SERIALIZE\s+a circular value/);
    expect(stdout).toContain('isAdmin is still undefined');
  });
});

describe('example: client', () => {
  it('retries to the healthy instance, opens the broken one, never re-sends a POST without a key', () => {
    const { status, stdout, stderr } = runExample('client');
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(stdout.match(/answered by inventory-1/g)).toHaveLength(4);
    expect(stdout).not.toContain('answered by inventory-2');
    expect(stdout).toContain('breaker inventory-2: closed -> open');
    expect(stdout).toContain('budget sent downstream <= 1000: true');
    expect(stdout).toContain('failed with ERR_HTTP_STATUS after 1 attempt(s)');
    expect(stdout).toContain('reserved by inventory-1');
  });
});

describe('per-primitive examples', () => {
  const names = readdirSync('examples')
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.slice(0, -3));
  const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> })
    .scripts;

  it('covers every primitive, each under 80 lines with its npm run example:<name> script', () => {
    for (const primitive of ['cache', 'lock', 'auth', 'registry', 'client', 'monitor', 'queue']) {
      expect(names).toContain(primitive);
    }
    for (const name of names) {
      const lines = readFileSync(`examples/${name}.ts`, 'utf8').trimEnd().split('\n').length;
      expect(lines, `examples/${name}.ts`).toBeLessThan(80);
      expect(scripts[`example:${name}`]).toBe(`node scripts/example.mjs examples/${name}.ts`);
    }
    expect(scripts.example).toBe('node scripts/example.mjs examples/order-flow/run.ts');
  });
});
