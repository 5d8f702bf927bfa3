import { AsyncLocalStorage } from 'node:async_hooks';
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RemoteJwks } from '../../../src/auth/remote-jwks.js';

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
    let now = 0;
    const jwks = als.run(
      'app',
      () =>
        new RemoteJwks('https://issuer.test/jwks.json', { maxAgeMs: 1_000, cooldownMs: 0, now: () => now }),
    );
    // The first load is awaited by the request that needs it: it runs in that request.
    await als.run('request A', () => jwks.getKey('k1', 'ES256'));
    now = 5_000;
    // Stale: request B gets the key it holds and a refresh starts in the background.
    await als.run('request B', () => jwks.getKey('k1', 'ES256'));
    await vi.waitFor(() => expect(fetches.length).toBe(2));
    expect(fetches).toEqual(['request A', 'app']);
    jwks.close();
  });
});
