import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';

function runAuthExample(env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'examples/auth.ts'], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function expectFlow(stdout: string): void {
  expect(stdout).toMatch(/200 \/me\s+\{"hello":"ada","via":"bearer"\}/);
  expect(stdout).toMatch(/401 \/me\s+.*\[Bearer realm="api"\]/);
  expect(stdout).toMatch(/403 \/admin\s+.*insufficient_scope/);
  expect(stdout).toMatch(/200 \/logout-everywhere\s+\{"ended":2\}/);
  expect(stdout).toMatch(/401 \/me\s+.*the session of this token has ended/);
  expect(stdout).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
}

describe('examples/auth', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('runs on the memory adapters', () => {
    const { status, stdout, stderr } = runAuthExample();
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expectFlow(stdout);
  });

  it('runs on Redis with REDIS_URL', async () => {
    const { status, stdout, stderr } = runAuthExample({ REDIS_URL: redis.url });
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expectFlow(stdout);
    const keys = await redis.client().keys('example:*');
    expect(keys.some((k) => k.startsWith('example:deny:'))).toBe(true);
  });
});
