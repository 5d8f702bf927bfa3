import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createJwt, type Jwt } from '../../../src/auth/jwt.js';
import { RemoteJwks } from '../../../src/auth/remote-jwks.js';
import { isScaleoutError } from '../../../src/errors.js';

interface Signer {
  kid: string;
  jwt: Jwt;
  publicJwk: Record<string, unknown>;
}

function makeSigner(kid: string, type: 'rsa' | 'ed25519' | 'ec', now: () => number): Signer {
  const pair =
    type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : type === 'ec'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('ed25519');
  const publicJwk = { ...(pair.publicKey as KeyObject).export({ format: 'jwk' }), kid, use: 'sig' };
  return { kid, jwt: createJwt({ privateKey: pair.privateKey, kid, now }), publicJwk };
}

describe('remote JWKS against a real HTTP server on loopback', () => {
  let server: Server;
  let url: string;
  let keys: Array<Record<string, unknown>> = [];
  let mode: 'ok' | 'fail' | 'garbage' = 'ok';
  let requests = 0;
  let now = 1_700_000_000_000;
  const clock = () => now;
  let k1: Signer;
  let k2: Signer;
  let k3: Signer;

  beforeAll(async () => {
    k1 = makeSigner('k1', 'rsa', clock);
    k2 = makeSigner('k2', 'ed25519', clock);
    k3 = makeSigner('k3', 'ec', clock);
    server = createServer((_req, res) => {
      requests++;
      if (mode === 'fail') {
        res.writeHead(503).end('down');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(mode === 'garbage' ? '{"keys": nope' : JSON.stringify({ keys }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    keys = [k1.publicJwk];
    mode = 'ok';
    requests = 0;
  });

  const verifier = () =>
    createJwt({ jwksUrl: url, jwksCooldownMs: 30_000, jwksMaxAgeMs: 600_000, now: clock });

  it('fetches once, then verifies from the cached keys', async () => {
    const jwt = verifier();
    for (let i = 0; i < 20; i++)
      expect((await jwt.verify(await k1.jwt.sign({ sub: `u${i}` }))).sub).toBe(`u${i}`);
    expect(requests).toBe(1);
  });

  it('kid rotation: a new kid causes exactly one refetch, however many requests carry it', async () => {
    const jwt = verifier();
    await jwt.verify(await k1.jwt.sign({}));
    keys = [k1.publicJwk, k2.publicJwk];
    now += 31_000; // past the cooldown since the first fetch
    const tokens = await Promise.all(Array.from({ length: 50 }, (_, i) => k2.jwt.sign({ sub: `n${i}` })));
    const results = await Promise.all(tokens.map((t) => jwt.verify(t)));
    expect(results.map((c) => c.sub)).toEqual(tokens.map((_, i) => `n${i}`));
    expect(requests).toBe(2);
  });

  it('an unknown kid refetches at most once per cooldown, and fails with a typed error', async () => {
    const jwt = verifier();
    await jwt.verify(await k1.jwt.sign({}));
    now += 31_000;
    const forged = await Promise.all(Array.from({ length: 100 }, () => k3.jwt.sign({})));
    const errors = await Promise.all(forged.map((t) => jwt.verify(t).catch((e: unknown) => e)));
    expect(errors.every((e) => isScaleoutError(e, 'ERR_JWKS_NO_MATCHING_KEY'))).toBe(true);
    expect(requests).toBe(2);
    // Inside the cooldown: no more fetches however often the kid comes back.
    now += 10_000;
    for (const t of forged.slice(0, 20)) await jwt.verify(t).catch(() => {});
    expect(requests).toBe(2);
    // After it, the key has appeared: one fetch, and it verifies.
    keys = [k1.publicJwk, k3.publicJwk];
    now += 21_000;
    const fresh = await k3.jwt.sign({ sub: 'k3' });
    expect((await jwt.verify(fresh)).sub).toBe('k3');
    expect(requests).toBe(3);
  });

  it('old keys keep working when the endpoint fails (stale set, refresh errors)', async () => {
    const jwt = verifier();
    await jwt.verify(await k1.jwt.sign({}));
    mode = 'fail';
    now += 700_000; // older than jwksMaxAgeMs: refreshes in the background, which fail
    for (let i = 0; i < 5; i++) {
      expect((await jwt.verify(await k1.jwt.sign({ sub: 'still' }))).sub).toBe('still');
      now += 31_000;
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(requests).toBeGreaterThan(1);
    mode = 'garbage';
    now += 31_000;
    expect((await jwt.verify(await k1.jwt.sign({ sub: 'still' }))).sub).toBe('still');
    const unknown = await k2.jwt.sign({});
    now += 31_000;
    await expect(jwt.verify(unknown)).rejects.toSatisfy((e) =>
      isScaleoutError(e, 'ERR_JWKS_NO_MATCHING_KEY'),
    );
  });

  it('fails with JwksFetchError when no key set was ever loaded, and recovers later', async () => {
    mode = 'fail';
    const jwt = verifier();
    const token = await k1.jwt.sign({ sub: 'x' });
    await expect(jwt.verify(token)).rejects.toSatisfy((e) => isScaleoutError(e, 'ERR_JWKS_FETCH'));
    mode = 'ok';
    now += 5_000; // past the wait after a failed load
    expect((await jwt.verify(token)).sub).toBe('x');
  });

  it('never loaded: a down endpoint is asked at most once per min(cooldown, 5 s), each verify failing typed', async () => {
    mode = 'fail';
    const jwt = verifier(); // jwksCooldownMs 30 s: failed loads wait 5 s
    const token = await k1.jwt.sign({ sub: 'x' });
    const errors = [];
    for (let i = 0; i < 50; i++) errors.push(await jwt.verify(token).catch((e: unknown) => e));
    expect(errors.every((e) => isScaleoutError(e, 'ERR_JWKS_FETCH'))).toBe(true);
    expect(requests).toBe(1);
    now += 4_999;
    await expect(jwt.verify(token)).rejects.toSatisfy((e) => isScaleoutError(e, 'ERR_JWKS_FETCH'));
    expect(requests).toBe(1);
    now += 1;
    await expect(jwt.verify(token)).rejects.toSatisfy((e) => isScaleoutError(e, 'ERR_JWKS_FETCH'));
    expect(requests).toBe(2);
    // A shorter cooldown is the wait after a failed load too.
    const quick = createJwt({ jwksUrl: url, jwksCooldownMs: 1_000, now: clock });
    await expect(quick.verify(token)).rejects.toSatisfy((e) => isScaleoutError(e, 'ERR_JWKS_FETCH'));
    await expect(quick.verify(token)).rejects.toSatisfy((e) => isScaleoutError(e, 'ERR_JWKS_FETCH'));
    expect(requests).toBe(3);
    mode = 'ok';
    now += 1_000;
    expect((await quick.verify(token)).sub).toBe('x');
    expect(requests).toBe(4);
  });

  it('never accepts an HMAC token against a JWKS, nor a key published for another alg', async () => {
    const jwt = verifier();
    const hs = createJwt({ secret: 'x'.repeat(32), kid: 'k1', now: clock });
    await expect(jwt.verify(await hs.sign({}))).rejects.toSatisfy((e) =>
      isScaleoutError(e, 'ERR_JWT_ALGORITHM'),
    );
    keys = [{ ...k1.publicJwk, alg: 'PS256' }];
    const jwt2 = verifier();
    await expect(jwt2.verify(await k1.jwt.sign({}))).rejects.toSatisfy((e) =>
      isScaleoutError(e, 'ERR_JWKS_NO_MATCHING_KEY'),
    );
  });

  it('peekKey answers only from a loaded, fresh key set and never fetches', async () => {
    const jwks = new RemoteJwks(url, {
      cooldownMs: 30_000,
      maxAgeMs: 600_000,
      clock: { now: clock, monotonic: clock },
    });
    expect(jwks.peekKey('k1', 'RS256')).toBeUndefined();
    expect(requests).toBe(0);
    const key = await jwks.getKey('k1', 'RS256');
    expect(jwks.peekKey('k1', 'RS256')).toBe(key);
    expect(jwks.peekKey('k2', 'EdDSA')).toBeUndefined(); // unknown kid: getKey decides about a refetch
    expect(jwks.peekKey('k1', 'ES256')).toBeUndefined(); // an RSA key never serves ES256
    now += 600_000; // stale: getKey must run (background refresh)
    expect(jwks.peekKey('k1', 'RS256')).toBeUndefined();
    expect(requests).toBe(1);
    jwks.close();
  });

  it('with the key set loaded, verify settles without a fetch and still rejects (never throws) bad input', async () => {
    const jwt = verifier();
    await jwt.verify(await k1.jwt.sign({}));
    const token = await k1.jwt.sign({ sub: 'fast' });
    const pending = jwt.verify(token);
    expect(pending).toBeInstanceOf(Promise);
    expect((await pending).sub).toBe('fast');
    for (const bad of ['garbage', `${token.slice(0, -4)}AAAA`, 42 as never, 'a.b.c']) {
      let pendingBad: Promise<unknown> | undefined;
      expect(() => {
        pendingBad = jwt.verify(bad);
      }).not.toThrow();
      await expect(pendingBad).rejects.toSatisfy((e) => isScaleoutError(e));
    }
    // A token for a key not in the set still goes the fetching way (one refetch after the cooldown).
    now += 31_000;
    await expect(jwt.verify(await k2.jwt.sign({}))).rejects.toSatisfy((e) =>
      isScaleoutError(e, 'ERR_JWKS_NO_MATCHING_KEY'),
    );
    expect(requests).toBe(2);
  });
});

describe('remote JWKS: the document cap (maxBytes) is kept while reading, in bytes', () => {
  const CAP = 64 * 1024;
  let server: Server;
  let url: string;
  let publicJwk: Record<string, unknown>;
  /** What the next response is: a body that never ends, or a declared length over the cap, or this text. */
  let answer: 'endless' | 'declared' | string = 'endless';

  beforeAll(async () => {
    publicJwk = { ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }) };
    server = createServer((_req, res) => {
      if (answer === 'declared') {
        // Announces 64 MiB and sends none of it: only the header can refuse it.
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(64 << 20) });
        res.flushHeaders();
        return;
      }
      if (answer !== 'endless') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(answer);
        return;
      }
      // Chunked, no length: the cap and a little more, then the response stays open, never ending.
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      for (let i = 0; i < CAP / chunk.length + 1; i++) {
        res.write(chunk);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  // The body never ends: a reader that waits for the whole of it only stops at timeoutMs.
  const jwksOf = (maxBytes = CAP) => new RemoteJwks(url, { maxBytes, timeoutMs: 10_000, cooldownMs: 0 });
  const tooLarge = (e: unknown) =>
    isScaleoutError(e, 'ERR_JWKS_FETCH') && /larger than \d+ bytes/.test((e as Error).message);

  it('a body without content-length is refused once the bytes read pass the cap, not at its end', async () => {
    answer = 'endless';
    const jwks = jwksOf();
    await expect(jwks.getKey('k1', 'ES256')).rejects.toSatisfy(tooLarge);
    jwks.close();
  });

  it('a declared content-length over the cap is refused before any of the body arrives', async () => {
    answer = 'declared';
    const jwks = jwksOf();
    await expect(jwks.getKey('k1', 'ES256')).rejects.toSatisfy(tooLarge);
    jwks.close();
  });

  it('counts bytes, not UTF-16 code units; a document of exactly the cap is accepted', async () => {
    const body = JSON.stringify({
      keys: [{ ...publicJwk, kid: 'k1', alg: 'ES256' }],
      note: 'é'.repeat(1_000),
    });
    const bytes = Buffer.byteLength(body);
    expect(body.length).toBeLessThan(bytes - 500);
    answer = body;
    const under = jwksOf(body.length); // as many bytes as the text has characters: too few
    await expect(under.getKey('k1', 'ES256')).rejects.toSatisfy(tooLarge);
    under.close();
    const exact = jwksOf(bytes);
    await expect(exact.getKey('k1', 'ES256')).resolves.toBeDefined();
    exact.close();
  });
});
