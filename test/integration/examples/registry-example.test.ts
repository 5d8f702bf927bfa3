import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';

function runExample(env: Record<string, string> = {}): {
  status: number | null;
  stdout: string;
  stderr: string;
} {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'examples/registry.ts'], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function check({ status, stdout, stderr }: ReturnType<typeof runExample>): void {
  expect(stderr).toBe('');
  expect(status).toBe(0);
  expect(stdout.match(/change {3}up .* \(registered\)/g)).toHaveLength(3);
  const calls = [...stdout.matchAll(/calls {4}\S+ (\d+)\/60/g)].map((m) => Number(m[1]));
  expect(calls).toHaveLength(3);
  expect(calls.reduce((a, b) => a + b, 0)).toBe(60);
  // The slow third instance gets less than its fair share (20 of 60, as round-robin would give it)
  // under power-of-two-choices; how much less depends on scheduling noise on a loaded machine.
  expect(calls[2]).toBeLessThan(20);
  expect(stdout).toMatch(/health {3}\S+ unhealthy/);
  expect(stdout).toMatch(/health {3}\S+ healthy again/);
  expect(stdout).toMatch(/change {3}down \S+ \(deregistered\)/);
  expect(stdout).toContain('view     2 instances left');
  expect(stdout).toContain('refused  ERR_INVALID_ARGUMENT');
  expect(stdout).toContain('refused  ERR_DUPLICATE_REGISTRATION');
  expect(stdout).toContain('refused  ERR_NO_INSTANCES');
}

describe('example: registry', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('runs on the memory adapter', () => {
    check(runExample({ REDIS_URL: '' }));
  });

  it('runs on real Redis with REDIS_URL', () => {
    check(runExample({ REDIS_URL: redis.url }));
  });
});
