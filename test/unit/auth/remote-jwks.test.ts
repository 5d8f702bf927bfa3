import { AsyncLocalStorage } from 'node:async_hooks';
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createJwt } from '../../../src/auth/jwt.js';
import { RemoteJwks } from '../../../src/auth/remote-jwks.js';
import { MAX_TIMER_MS } from '../../../src/internal/timers.js';
import { fakeClock } from '../../helpers/clock.js';
import { PAST_TIMER_RANGE_MS } from '../../helpers/timer-overflow.js';

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('RemoteJwks: async context of background refreshes', () => {
  it('refreshes a stale key set in the context it was made in, not in that of the request that noticed', async () => {
    const als = new AsyncLocalStorage<string>();
    const jwk = { ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }) };
    const fetches: Array<string | undefined> = [];
    // Loopback only: the JWKS endpoint is a stub of the global fetch.
    vi.stubGlobal('fetch', async () => {
      fetches.push(als.getStore());
      return new Response(JSON.stringify({ keys: [{ ...jwk, kid: 'k1', alg: 'ES256', use: 'sig' }] }));
    });
    const clock = fakeClock(0);
    const jwks = als.run(
      'app',
      () => new RemoteJwks('https://issuer.test/jwks.json', { maxAgeMs: 1_000, cooldownMs: 0, clock }),
    );
    // The first load is awaited by the request that needs it: it runs in that request.
    await als.run('request A', () => jwks.getKey('k1', 'ES256'));
    clock.set(5_000);
    // Stale: request B gets the key it holds and a refresh starts in the background.
    await als.run('request B', () => jwks.getKey('k1', 'ES256'));
    await vi.waitFor(() => expect(fetches.length).toBe(2));
    expect(fetches).toEqual(['request A', 'app']);
    jwks.close();
  });
});

describe('RemoteJwks: options', () => {
  it('reads time from its clock: the key set goes stale when the clock says so', async () => {
    const jwk = { ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }) };
    // Loopback only: the JWKS endpoint is a stub of the global fetch.
    vi.stubGlobal(
      'fetch',
      async () => new Response(JSON.stringify({ keys: [{ ...jwk, kid: 'k1', alg: 'ES256' }] })),
    );
    const clock = fakeClock();
    const jwks = new RemoteJwks('https://issuer.test/jwks.json', { maxAgeMs: 60_000, clock });
    const key = await jwks.getKey('k1', 'ES256');
    expect(jwks.peekKey('k1', 'ES256')).toBe(key);
    clock.advance(60_000);
    expect(jwks.peekKey('k1', 'ES256')).toBeUndefined();
    jwks.close();
  });

  it('refuses `now` (its former time source) naming `clock`, and a clock without monotonic()', () => {
    const url = 'https://issuer.test/jwks.json';
    expect(() => new RemoteJwks(url, { now: () => 0 } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', option: 'now', suggestion: 'clock' }),
    );
    expect(() => new RemoteJwks(url, { clock: { now: () => 0 } as never })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', option: 'clock' }),
    );
    expect(() => new RemoteJwks(url, { cooldown: 5 } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', suggestion: 'cooldownMs' }),
    );
  });
});

describe('RemoteJwks: the logger hears what no caller sees', () => {
  it('a failed background refresh is a warning on the Jwt logger; the keys held keep verifying', async () => {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = { ...pair.publicKey.export({ format: 'jwk' }) };
    let fetches = 0;
    // Loopback only: the JWKS endpoint is a stub of the global fetch; every fetch after the first fails.
    vi.stubGlobal('fetch', async () => {
      fetches++;
      if (fetches > 1) return new Response('down', { status: 503 });
      return new Response(JSON.stringify({ keys: [{ ...jwk, kid: 'k1', alg: 'ES256' }] }));
    });
    const clock = fakeClock();
    const warnings: string[] = [];
    const logger = { warn: (message: string) => void warnings.push(message) };
    const signer = createJwt({ privateKey: pair.privateKey, kid: 'k1', clock });
    const jwt = createJwt({
      jwksUrl: 'https://issuer.test/jwks.json',
      jwksMaxAgeMs: 1_000,
      jwksCooldownMs: 0,
      clock,
      logger,
    });
    await jwt.verify(await signer.sign({ sub: 'a' }));
    clock.advance(5_000);
    await expect(jwt.verify(await signer.sign({ sub: 'b' }))).resolves.toMatchObject({ sub: 'b' });
    await vi.waitFor(() => expect(warnings).toHaveLength(1));
    expect(warnings[0]).toMatch(/JWKS/);
    expect(warnings[0]).not.toContain('issuer.test');
    expect(() => createJwt({ secret: 'x'.repeat(32), logger: 5 as never })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', option: 'logger' }),
    );
    await jwt.close();
    await signer.close();
  });
});

describe('RemoteJwks: timeoutMs past the 32-bit timer range', () => {
  it('a 35-day timeoutMs aborts the fetch at 35 days, not at ~24.8 (the longest node timer)', async () => {
    // Loopback only: the JWKS endpoint is a stub of the global fetch that answers nothing.
    vi.stubGlobal(
      'fetch',
      (_url: string, init: RequestInit) =>
        new Promise<Response>((_resolve, reject) => {
          init.signal?.addEventListener('abort', () => reject(init.signal?.reason));
        }),
    );
    // vitest's fake timers treat a delay past 2^31 - 1 ms as node does (1 ms).
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const jwks = new RemoteJwks('https://issuer.test/jwks.json', { timeoutMs: PAST_TIMER_RANGE_MS });
    try {
      let outcome: unknown;
      void jwks.getKey('k1', 'ES256').then(
        (v) => (outcome = v),
        (err: unknown) => (outcome = err),
      );
      await vi.advanceTimersByTimeAsync(MAX_TIMER_MS + 1_000);
      expect(outcome).toBeUndefined();
      await vi.advanceTimersByTimeAsync(PAST_TIMER_RANGE_MS - MAX_TIMER_MS - 1_000);
      expect(outcome).toMatchObject({ code: 'ERR_JWKS_FETCH' });
      expect((outcome as Error).cause).toMatchObject({ name: 'TimeoutError' });
    } finally {
      vi.useRealTimers();
      jwks.close();
    }
  });
});
