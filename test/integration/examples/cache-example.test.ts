import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';

function runExample(env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'examples/cache.ts'], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function expectStory(stdout: string): void {
  expect(stdout).toContain('stampede: 100 answers, 1 distinct, db calls: 1');
  expect(stdout).toMatch(/B reads \(L1\): \d+/);
  expect(stdout).toContain("B after A's write: 1499");
  expect(stdout).toContain('db down, served stale: 500');
  expect(stdout).toContain('views: 1, 2');
  expect(stdout).toContain('refused: ERR_INVALID_ARGUMENT');
}

describe('example: cache', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('runs on the memory adapter', () => {
    const { status, stdout, stderr } = runExample({ REDIS_URL: '' });
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expectStory(stdout);
  });

  it('runs on a real Redis with REDIS_URL', () => {
    const { status, stdout, stderr } = runExample({ REDIS_URL: server.url });
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expectStory(stdout);
  });
});
