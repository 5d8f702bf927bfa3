import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, InvalidOptionsError } from '../../../src/errors.js';
import { isSecretKey, maskSecrets, redactUrl } from '../../../src/internal/redact.js';
import {
  clockOption,
  durationArgument,
  durationOption,
  keyArgument,
  MAX_DURATION_MS,
  optionsChecker,
} from '../../../src/internal/validate.js';

describe('redactUrl', () => {
  it('hides user, password and secret-looking query parameters', () => {
    const out = redactUrl('redis://admin:s3cret@10.0.0.1:6379/2?password=p4ss&db=1');
    expect(out).not.toContain('s3cret');
    expect(out).not.toContain('p4ss');
    expect(out).not.toContain('admin');
    expect(out).toContain('10.0.0.1:6379');
    expect(out).toContain('db=1');
    expect(redactUrl('amqp://guest:guest@127.0.0.1:5672')).toBe('amqp://***@127.0.0.1:5672');
  });

  it('never echoes text that is not a URL', () => {
    expect(redactUrl('not a url with hunter2')).toBe('<unparseable url>');
  });
});

describe('isSecretKey', () => {
  it('hides names holding a secret, in any case or spelling', () => {
    for (const name of [
      'password',
      'Password',
      'db_password',
      'dbPassword',
      'passwd',
      'pwd',
      'secret',
      'secretKey',
      'client_secret',
      'privateKey',
      'private_key',
      'accessToken',
      'refresh_token',
      'apiKey',
      'x-api-key',
      'authorization',
      'auth',
      'cookie',
      'credentials',
      'jwt',
      'key',
      'signingKey',
      'signing_key',
      'signingkey',
      'session',
      'sessionId',
      'session_id',
      'sid',
      'signature',
    ]) {
      expect(isSecretKey(name), name).toBe(true);
    }
  });

  it('shows names that only describe keys or count sessions', () => {
    for (const name of [
      'keys',
      'keyPrefix',
      'keyCount',
      'keyspace',
      'monkey',
      'sessions',
      'activeSessions',
      'signatureAlgorithm',
      'region',
      'status',
      'latencyMs',
      'connection',
    ]) {
      expect(isSecretKey(name), name).toBe(false);
    }
  });
});

describe('maskSecrets', () => {
  it('masks values after a secret name: bare, quoted, JSON, escaped JSON, "is", and JWTs anywhere', () => {
    const cases: Array<[string, string]> = [
      ['the password is S3CR3T', 'the password is [redacted]'],
      ['password: "S3CR3T"', 'password: "[redacted]"'],
      ["password='S3CR3T'", "password='[redacted]'"],
      ['password: "S3CR3T cut here', 'password: "[redacted]'],
      ['{"password":"S3CR3T"}', '{"password":"[redacted]"}'],
      ['"token":"S3CR3T"', '"token":"[redacted]"'],
      ['{\\"password\\":\\"S3CR3T\\"}', '{\\"password\\":\\"[redacted]\\"}'],
      ['pass=S3CR3T', 'pass=[redacted]'],
      ['apikey=S3CR3T', 'apikey=[redacted]'],
      ['sessionId=S3CR3T', 'sessionId=[redacted]'],
      ['Authorization: Basic S3CR3T', 'Authorization: [redacted]'],
      ['got eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.S3CR3T back', 'got [redacted] back'],
      ['postgres://app:S3CR3T@db/x', 'postgres://***@db/x'],
    ];
    for (const [text, masked] of cases) expect(maskSecrets(text), text).toBe(masked);
  });

  it('leaves ordinary texts alone', () => {
    for (const text of [
      'connect ECONNREFUSED 127.0.0.1:6379',
      'check "db" timed out after 100 ms',
      'the key was not found in keyspace 2',
      'invalid signature',
      'session expired',
      'queue "orders" has 12 messages',
    ]) {
      expect(maskSecrets(text)).toBe(text);
    }
  });
});

describe('validators', () => {
  it('durationOption accepts integers in range and names the option otherwise', () => {
    expect(durationOption('ttlMs', 1000)).toBe(1000);
    expect(durationOption('graceMs', 0, 0)).toBe(0);
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity, MAX_DURATION_MS + 1, '10' as unknown as number]) {
      try {
        durationOption('ttlMs', bad);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidOptionsError);
        expect((err as InvalidOptionsError).option).toBe('ttlMs');
      }
    }
    expect(() => durationArgument('ttlMs', -5)).toThrow(InvalidArgumentError);
  });

  it('keyArgument refuses a lone surrogate, in short and long keys, and keeps valid pairs', () => {
    expect(keyArgument('key', 'user:\ud83d\ude00')).toBe('user:\ud83d\ude00');
    expect(keyArgument('key', 'user:\ufffd')).toBe('user:\ufffd');
    const long = 'é'.repeat(100);
    for (const bad of [
      '\ud800',
      'u\ud800',
      'u\udfff',
      '\udc00\ud800',
      `\ud83d\ude00\ud800`,
      `${long}\udbff`,
      `\udc00${long}`,
    ]) {
      expect(() => keyArgument('userId', bad)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument: 'userId' }),
      );
    }
  });

  it('keyArgument refuses non-strings, empty, oversized and control characters without echoing', () => {
    expect(keyArgument('key', 'user:1')).toBe('user:1');
    const cases: unknown[] = [undefined, null, 42, {}, '', 'x'.repeat(1025), 'a\nb', 'a\u0000b', 'tab\there'];
    for (const bad of cases) {
      try {
        keyArgument('key', bad);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidArgumentError);
        expect((err as InvalidArgumentError).argument).toBe('key');
      }
    }
  });
});

describe('optionsChecker', () => {
  const check = optionsChecker({
    where: 'cache.set() options',
    keys: ['ttlMs', 'graceMs', 'expiresInMs', 'retry'],
    hints: { retries: 'retry' },
    bareNumber: 'ttlMs',
  });

  it('passes undefined and objects holding only known keys', () => {
    expect(() => check(undefined)).not.toThrow();
    expect(() => check({})).not.toThrow();
    expect(() => check({ ttlMs: 1, graceMs: undefined })).not.toThrow();
    expect(() => check(Object.assign(Object.create(null), { ttlMs: 1 }))).not.toThrow();
  });

  it('refuses unknown keys, naming the key and the option meant', () => {
    const cases: Array<[Record<string, unknown>, string, string | undefined]> = [
      [{ expiresIn: '24h' }, 'expiresIn', 'expiresInMs'],
      [{ ttl: 3600 }, 'ttl', 'ttlMs'],
      [{ TTLMS: 1 }, 'TTLMS', 'ttlMs'],
      [{ gracems: 1 }, 'gracems', 'graceMs'],
      [{ graceSeconds: 1 }, 'graceSeconds', 'graceMs'],
      [{ tllMs: 1 }, 'tllMs', 'ttlMs'],
      [{ retries: 3 }, 'retries', 'retry'],
      [{ sku: 'a' }, 'sku', undefined],
      [{ ttlMs: 1, zzzzzz: undefined }, 'zzzzzz', undefined],
    ];
    for (const [value, option, suggestion] of cases) {
      let caught: unknown;
      try {
        check(value);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(InvalidOptionsError);
      const err = caught as InvalidOptionsError;
      expect(err.code).toBe('ERR_INVALID_OPTIONS');
      expect(err.option).toBe(option);
      expect(err.suggestion).toBe(suggestion);
      expect(err.message).toContain(`"${option}"`);
      if (suggestion) expect(err.message).toContain(`did you mean "${suggestion}"`);
    }
  });

  it('refuses a bare number, naming the option it meant', () => {
    expect(() => check(3600)).toThrow(/pass \{ ttlMs: <milliseconds> \}/);
    expect(() => check(3600)).toThrow(InvalidOptionsError);
  });

  it('refuses null, strings, arrays, functions and class instances', () => {
    class DistributedCacheLike {}
    for (const value of [null, 'x', [], () => 1, new DistributedCacheLike(), new Map(), true]) {
      expect(() => check(value)).toThrow(InvalidOptionsError);
    }
    expect(() => check(new DistributedCacheLike())).toThrow(/instance of DistributedCacheLike/);
  });

  it('does not echo long keys in full', () => {
    const key = 'k'.repeat(10_000);
    try {
      check({ [key]: 1 });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message.length).toBeLessThan(400);
    }
  });
});

describe('clockOption', () => {
  it('accepts no clock or one with now() and monotonic(); refuses anything else naming clock', () => {
    expect(() => clockOption(undefined)).not.toThrow();
    expect(() => clockOption({ now: () => 1, monotonic: () => 2 })).not.toThrow();
    for (const bad of [null, 5, 'clock', {}, { now: () => 1 }, { now: 1, monotonic: () => 2 }, () => 1]) {
      expect(() => clockOption(bad)).toThrow(InvalidOptionsError);
      expect(() => clockOption(bad)).toThrow(expect.objectContaining({ option: 'clock' }));
    }
  });
});
