import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AuthContext } from '../../../src/auth/authorizer.js';
import { rateLimitHandler } from '../../../src/rate-limit/rate-limit-middleware.js';
import { RateLimiter } from '../../../src/rate-limit/rate-limiter.js';

const limiters: RateLimiter[] = [];
function limiter(limit = 2): RateLimiter {
  const l = new RateLimiter({ limits: { limit, windowMs: 60_000 } });
  limiters.push(l);
  return l;
}
afterEach(async () => {
  for (const l of limiters.splice(0)) await l.close();
});

const auth = (sub: unknown): AuthContext => ({ claims: { sub } as never, source: 'bearer' });

describe('rateLimitHandler (the middleware core)', () => {
  it('counts by client address, reading an IPv4-mapped IPv6 address as IPv4', async () => {
    const l = limiter();
    const consume = vi.spyOn(l, 'consume');
    const handle = rateLimitHandler({ limiter: l });
    await handle({}, { ip: '::ffff:10.0.0.7', auth: undefined });
    await handle({}, { ip: '10.0.0.7', auth: undefined });
    const third = await handle({}, { ip: '10.0.0.7', auth: undefined });
    expect(consume.mock.calls.map((c) => c[0])).toEqual(['ip:10.0.0.7', 'ip:10.0.0.7', 'ip:10.0.0.7']);
    expect(third).toMatchObject({ allowed: false, status: 429, body: { error: 'rate_limited' } });
    expect(third!.headers['retry-after']).toBe('30');
    expect((await handle({}, { ip: '2001:db8::1', auth: undefined }))!.allowed).toBe(true);
    expect(consume.mock.calls.at(-1)![0]).toBe('ip:2001:db8::1');
  });

  it("counts by authorize's subject, and by address for a request without one", async () => {
    const l = limiter();
    const consume = vi.spyOn(l, 'consume');
    const handle = rateLimitHandler({ limiter: l, key: 'subject' });
    await handle({}, { ip: '10.0.0.7', auth: auth('alice') });
    await handle({}, { ip: '10.0.0.7', auth: auth(42) });
    await handle({}, { ip: '10.0.0.7', auth: undefined });
    await handle({}, { ip: undefined, auth: auth({ nested: true }) });
    expect(consume.mock.calls.map((c) => c[0])).toEqual(['sub:alice', 'sub:42', 'ip:10.0.0.7', 'ip:unknown']);
  });

  it('takes a key function (undefined lets the request through uncounted) and a cost function', async () => {
    const l = limiter(5);
    const consume = vi.spyOn(l, 'consume');
    const handle = rateLimitHandler<{ tenant?: string; size: number }>({
      limiter: l,
      key: (req) => (req.tenant === undefined ? undefined : `tenant:${req.tenant}`),
      cost: (req) => req.size,
      headers: false,
    });
    expect(await handle({ size: 1 }, { ip: '1.2.3.4', auth: undefined })).toBeUndefined();
    const answer = await handle({ tenant: 'acme', size: 3 }, { ip: '1.2.3.4', auth: undefined });
    expect(answer).toMatchObject({ allowed: true, headers: {} });
    expect(consume.mock.calls).toEqual([['tenant:acme', { cost: 3 }]]);
    const denied = await handle({ tenant: 'acme', size: 3 }, { ip: '1.2.3.4', auth: undefined });
    expect(denied!.allowed).toBe(false);
    expect(Object.keys(denied!.headers).sort()).toEqual(['ratelimit', 'ratelimit-policy', 'retry-after']);
  });

  it('refuses bad options with typed errors', () => {
    const l = limiter();
    for (const [options, option] of [
      [undefined, 'limiter'],
      [5, 'limiter'],
      [{}, 'limiter'],
      [{ limiter: {} }, 'limiter'],
      [{ limiter: l, key: 'cookie' }, 'key'],
      [{ limiter: l, cost: 0 }, 'cost'],
      [{ limiter: l, headers: 'yes' }, 'headers'],
      [{ limiter: l, keyGenerator: () => 'x' }, 'keyGenerator'],
    ] as const) {
      expect(() => rateLimitHandler(options as never), JSON.stringify(options)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', option }),
      );
    }
  });
});

describe('rateLimitHandler keys from client-controlled values', () => {
  it('digests a subject or address too long or with control characters, instead of failing the request', async () => {
    const l = limiter(1);
    const consume = vi.spyOn(l, 'consume');
    const handle = rateLimitHandler({ limiter: l, key: 'subject' });
    const long = 'a'.repeat(5_000);
    expect((await handle({}, { ip: '1.2.3.4', auth: auth(long) }))!.allowed).toBe(true);
    expect((await handle({}, { ip: '1.2.3.4', auth: auth(long) }))!.allowed).toBe(false); // same digest, same count
    expect((await handle({}, { ip: '1.2.3.4', auth: auth('bob\r\nx') }))!.allowed).toBe(true);
    expect((await handle({}, { ip: 'x\u0000'.repeat(300), auth: undefined }))!.allowed).toBe(true);
    const keys = consume.mock.calls.map((c) => c[0]);
    expect(keys[0]).toMatch(/^sub#[A-Za-z0-9_-]{43}$/);
    expect(keys[2]).toMatch(/^sub#/);
    expect(keys[3]).toMatch(/^ip#/);
  });
});
