import { EventEmitter } from 'node:events';
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
    expect(consume.mock.calls.at(-1)![0]).toBe('ip:2001:db8::/56');
  });

  it('counts an IPv6 client by its /56, whatever address of it each request comes from', async () => {
    const l = limiter(3);
    const consume = vi.spyOn(l, 'consume');
    const handle = rateLimitHandler({ limiter: l });
    // A client rotating through its /64 (and its /56), in any spelling.
    const rotating = [
      '2001:db8:0:12ab::1',
      '2001:db8:0:12ab:ffff::2',
      '2001:DB8:0:12FF:1:2:3:4',
      '2001:db8:0:1200::9',
    ];
    const answers = [];
    for (const ip of rotating) answers.push(await handle({}, { ip, auth: undefined }));
    expect(answers.map((a) => a!.allowed)).toEqual([true, true, true, false]);
    expect(new Set(consume.mock.calls.map((c) => c[0]))).toEqual(new Set(['ip:2001:db8:0:1200::/56']));
    // The next /56 is another client.
    expect((await handle({}, { ip: '2001:db8:0:1300::1', auth: undefined }))!.allowed).toBe(true);
    // Link-local with a zone, and 'subject' without one, take the same path.
    const bySubject = rateLimitHandler({ limiter: l, key: 'subject', ipv6Subnet: 64 });
    await bySubject({}, { ip: 'fe80::1:2%eth0', auth: undefined });
    expect(consume.mock.calls.at(-1)![0]).toBe('ip:fe80::/64');
  });

  it('counts each IPv6 address alone with ipv6Subnet: 128, every spelling of one address as one', async () => {
    const l = limiter(2);
    const consume = vi.spyOn(l, 'consume');
    const handle = rateLimitHandler({ limiter: l, ipv6Subnet: 128 });
    await handle({}, { ip: '2001:db8::1', auth: undefined });
    await handle({}, { ip: '2001:DB8:0:0:0:0:0:1', auth: undefined });
    await handle({}, { ip: '2001:db8::2', auth: undefined });
    expect(consume.mock.calls.map((c) => c[0])).toEqual([
      'ip:2001:db8::1',
      'ip:2001:db8::1',
      'ip:2001:db8::2',
    ]);
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
      [{ limiter: l, ipv6Subnet: 0 }, 'ipv6Subnet'],
      [{ limiter: l, ipv6Subnet: 129 }, 'ipv6Subnet'],
      [{ limiter: l, ipv6Subnet: false }, 'ipv6Subnet'],
      [{ limiter: l, ipv6Subnet: '56' }, 'ipv6Subnet'],
      [{ limiter: l, ipv6Subnet: 63.5 }, 'ipv6Subnet'],
      [{ limiter: l, subnet: 64 }, 'subnet'],
    ] as const) {
      expect(() => rateLimitHandler(options as never), JSON.stringify(options)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', option }),
      );
    }
  });
});

/** A response that finishes when told to. */
function response(): EventEmitter & { statusCode: number; finish(statusCode: number): void } {
  const res = Object.assign(new EventEmitter(), {
    statusCode: 200,
    finish(statusCode: number) {
      res.statusCode = statusCode;
      res.emit('finish');
    },
  });
  return res;
}

describe('rateLimitHandler refundWhen', () => {
  it('gives the units back after a response the predicate picks, and keeps them otherwise', async () => {
    const l = limiter(2);
    const refund = vi.spyOn(l, 'refund');
    const seen: Array<[number, unknown]> = [];
    const handle = rateLimitHandler<{ id: number }>({
      limiter: l,
      cost: 2,
      refundWhen: ({ statusCode }, request) => {
        seen.push([statusCode, request.id]);
        return statusCode < 400;
      },
    });
    const facts = (res: ReturnType<typeof response>) => ({ ip: '10.0.0.7', auth: undefined, response: res });
    // Ten successful requests in a row: each gives its 2 units back.
    for (let i = 0; i < 10; i++) {
      const res = response();
      expect((await handle({ id: i }, facts(res)))!.allowed).toBe(true);
      res.finish(200);
      await vi.waitFor(() => expect(refund).toHaveBeenCalledTimes(i + 1));
    }
    expect(refund).toHaveBeenLastCalledWith('ip:10.0.0.7', 2);
    // A failed one keeps them: the next is denied, and a denial has nothing to refund.
    const failed = response();
    expect((await handle({ id: 10 }, facts(failed)))!.allowed).toBe(true);
    failed.finish(401);
    const denied = await handle({ id: 11 }, facts(response()));
    expect(denied!.allowed).toBe(false);
    // A response that never finishes (client gone) keeps its count too.
    expect(refund).toHaveBeenCalledTimes(10);
    expect(seen.at(-1)).toEqual([401, 10]);
    expect((await l.peek('ip:10.0.0.7')).remaining).toBe(0);
  });

  it('keeps the count when the predicate throws, and never surfaces a failed refund', async () => {
    const l = limiter(1);
    const errors: unknown[] = [];
    l.on('error', ({ error }) => errors.push(error));
    const throwing = rateLimitHandler({
      limiter: l,
      refundWhen: () => {
        throw new Error('boom');
      },
    });
    const res = response();
    expect((await throwing({}, { ip: '1.1.1.1', auth: undefined, response: res }))!.allowed).toBe(true);
    res.finish(200);
    expect((await l.peek('ip:1.1.1.1')).remaining).toBe(0);
    // The limiter closed before the response finished: the refund's rejection is caught.
    const refunding = rateLimitHandler({ limiter: l, refundWhen: () => true });
    const late = response();
    expect((await refunding({}, { ip: '2.2.2.2', auth: undefined, response: late }))!.allowed).toBe(true);
    await l.close();
    const unhandled = vi.fn();
    process.on('unhandledRejection', unhandled);
    late.finish(200);
    await new Promise((r) => setTimeout(r, 20));
    process.off('unhandledRejection', unhandled);
    expect(unhandled).not.toHaveBeenCalled();
  });

  it('refuses a refundWhen that is not a function, and a request without the response to watch', async () => {
    const l = limiter();
    for (const refundWhen of [true, 'successful', 5, {}]) {
      expect(() => rateLimitHandler({ limiter: l, refundWhen: refundWhen as never })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', option: 'refundWhen' }),
      );
    }
    expect(() => rateLimitHandler({ limiter: l, skipSuccessfulRequests: true } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', suggestion: 'refundWhen' }),
    );
    const handle = rateLimitHandler({ limiter: l, refundWhen: () => true });
    await expect(handle({}, { ip: '1.2.3.4', auth: undefined })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
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

  it('digests a subject with a lone surrogate as UTF-16: no error, and two such subjects never share a count', async () => {
    const l = limiter(1);
    const consume = vi.spyOn(l, 'consume');
    const handle = rateLimitHandler({ limiter: l, key: 'subject' });
    for (const sub of ['u\ud800', 'u\udfff', 'u\ufffd']) {
      expect((await handle({}, { ip: '1.2.3.4', auth: auth(sub) }))!.allowed).toBe(true);
    }
    expect((await handle({}, { ip: '1.2.3.4', auth: auth('u\ud800') }))!.allowed).toBe(false);
    const keys = consume.mock.calls.map((c) => c[0]);
    expect(keys[0]).toMatch(/^sub![A-Za-z0-9_-]{43}$/);
    expect(keys[1]).toMatch(/^sub![A-Za-z0-9_-]{43}$/);
    expect(keys[1]).not.toBe(keys[0]);
    expect(keys[2]).toBe('sub:u\ufffd');
  });
});
