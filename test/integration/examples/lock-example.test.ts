import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';

function runLockExample(env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'examples/lock.ts'], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, REDIS_URL: '', ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function expectSafeOutput(stdout: string): void {
  expect(stdout).toContain('points after 20 x 10: 200');
  expect(stdout).toContain("slow holder's signal aborted: true (LeaseExpiredError)");
  expect(stdout).toContain('stale write accepted: false');
  expect(stdout).toContain("slow holder's release: false");
  expect(stdout).toContain('points of user 7: 5');
  expect(stdout).toContain('tryAcquire while held: null');
  expect(stdout).toContain('acquire with waitMs 50: ERR_LOCK_NOT_ACQUIRED');
}

describe('examples/lock.ts', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('runs on the memory adapter: no lost update, the stale holder is fenced off', () => {
    const { status, stdout, stderr } = runLockExample();
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expectSafeOutput(stdout);
  });

  it('runs the same on real Redis with REDIS_URL', () => {
    const { status, stdout, stderr } = runLockExample({ REDIS_URL: server.url });
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expectSafeOutput(stdout);
  });
});
