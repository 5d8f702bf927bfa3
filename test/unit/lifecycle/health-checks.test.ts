import { describe, expect, it, vi } from 'vitest';
import { MAX_TIMER_MS } from '../../../src/internal/timers.js';
import { HealthChecks } from '../../../src/lifecycle/health-checks.js';
import { systemClock } from '../../../src/types.js';
import { PAST_TIMER_RANGE_MS } from '../../helpers/timer-overflow.js';

describe('HealthChecks', () => {
  it('a check whose error has a throwing getter fails alone; run() does not reject', async () => {
    const checks = new HealthChecks(systemClock, 500);
    const hostile = new Error('x');
    Object.defineProperty(hostile, 'message', {
      get() {
        throw new Error('getter');
      },
    });
    const proxy = new Proxy(
      {},
      {
        get() {
          throw new Error('trap');
        },
        getPrototypeOf() {
          throw new Error('trap');
        },
      },
    );
    checks.add('message-getter', () => {
      throw hostile;
    });
    checks.add('proxy', () => {
      throw proxy;
    });
    checks.add('fine', () => true);
    const results = await checks.run();
    expect(results.map((r) => [r.name, r.ok])).toEqual([
      ['message-getter', false],
      ['proxy', false],
      ['fine', true],
    ]);
    expect(results[0]?.error).toBe('check failed');
  });

  it('a timeout past the 32-bit timer range is not cut to 1 ms', async () => {
    const checks = new HealthChecks(systemClock, 2 ** 31);
    checks.add('slow', () => new Promise((resolve) => setTimeout(() => resolve(true), 30)));
    checks.add('own', () => new Promise((resolve) => setTimeout(() => resolve(true), 30)), {
      timeoutMs: 3_000_000_000,
    });
    const results = await checks.run();
    expect(results.map((r) => [r.name, r.ok, r.code])).toEqual([
      ['slow', true, undefined],
      ['own', true, undefined],
    ]);
  });

  it('masks tokens and passwords in error texts and details, not only URL credentials', async () => {
    const checks = new HealthChecks(systemClock, 500);
    checks.add('api', () => {
      throw new Error(
        'GET http://api.local/v1?access_token=tok_LIVE_123 failed; Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln; password=hunter2; invalid token sk_live_ABC',
      );
    });
    checks.add('details', () => ({
      dsn: 'host=db user=app password=hunter2',
      conn: 'redis://:p@ss@10.0.0.1:6379',
      note: 'api_key: k-123456',
    }));
    const text = JSON.stringify(await checks.run());
    for (const secret of [
      'tok_LIVE_123',
      'eyJhbGciOiJIUzI1NiJ9',
      'hunter2',
      'sk_live_ABC',
      'ss@10',
      'k-123456',
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('redis://***@10.0.0.1:6379');
    expect(text).toContain('failed');
  });
});

describe('HealthChecks: no secret in what a check resolves to or throws', () => {
  it('hides secret-looking keys, JWTs, quoted and JSON secrets in texts; keeps the rest', async () => {
    const S = 'S3CR3T';
    const checks = new HealthChecks(systemClock, 500);
    checks.add('details', () => ({
      pwd: `${S}-1`,
      sessionId: `${S}-2`,
      key: `${S}-3`,
      signingKey: `${S}-4`,
      jwt: `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.${S}-5`,
      note: `issued eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.${S}-6 to the client`,
      text: `the password is ${S}-7`,
      text2: `password: "${S}-8"`,
      text3: `"token":"${S}-9"`,
      region: 'eu',
      keys: 12,
      activeSessions: 3,
    }));
    checks.add('throws', () => {
      throw new Error(`login failed: {"password":"${S}-10","user":"app"}`);
    });
    const results = await checks.run();
    const text = JSON.stringify(results);
    expect(text.match(new RegExp(`${S}-\\d+`, 'g')) ?? []).toEqual([]);
    expect(results[0]?.details).toMatchObject({
      pwd: '[redacted]',
      sessionId: '[redacted]',
      key: '[redacted]',
      signingKey: '[redacted]',
      note: 'issued [redacted] to the client',
      text: 'the password is [redacted]',
      region: 'eu',
      keys: 12,
      activeSessions: 3,
    });
    expect(results[1]?.error).toBe('Error: login failed: {"password":"[redacted]","user":"app"}');
  });
});

describe('HealthChecks: a timeoutMs past the 32-bit timer range', () => {
  it('a hung check with a 35-day timeout fails at 35 days, not at ~24.8 (the longest node timer)', async () => {
    // vitest's fake timers treat a delay past 2^31 - 1 ms as node does (1 ms).
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const checks = new HealthChecks(systemClock, 500);
      checks.add('hung', () => new Promise(() => {}), { timeoutMs: PAST_TIMER_RANGE_MS });
      let results: Awaited<ReturnType<HealthChecks['run']>> | undefined;
      void checks.run().then((r) => (results = r));
      await vi.advanceTimersByTimeAsync(MAX_TIMER_MS + 1_000);
      expect(results).toBeUndefined();
      await vi.advanceTimersByTimeAsync(PAST_TIMER_RANGE_MS - MAX_TIMER_MS - 1_000);
      expect(results?.[0]).toMatchObject({ name: 'hung', ok: false, code: 'ERR_TIMEOUT' });
    } finally {
      vi.useRealTimers();
    }
  });
});
