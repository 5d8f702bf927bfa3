import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';

function runExample(env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'examples/rate-limiter.ts'], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function expectStory(stdout: string): void {
  expect(stdout).toMatch(/^burst: 37\/200 allowed, next in \d+ ms$/m);
  expect(stdout).toContain('two limits: 5/8 allowed; left: burst 0, minute 15');
  expect(stdout).toMatch(/^http: statuses seen by the server 200 200 (429 200 ?)+; every call succeeded$/m);
  expect(stdout).toContain('fail open: 5/8 allowed (10 / 2 instances), source insurance');
}

describe('example: rate limiter (npm run example:rate-limiter)', () => {
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

  it('runs on a real Redis with REDIS_URL', async () => {
    const { status, stdout, stderr } = runExample({ REDIS_URL: server.url });
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expectStory(stdout);
    expect((await server.client().keys('example:*')).length).toBeGreaterThan(0);
  });
});
