import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { exportJWK, importJWK, importSPKI, jwtVerify, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { MemoryJwtDenylist } from '../../../src/adapters/memory/memory-jwt-denylist.js';
import { createJwt } from '../../../src/auth/jwt.js';
import {
  InvalidArgumentError,
  InvalidOptionsError,
  isScaleoutError,
  JwtExpiredError,
  JwtRevokedError,
} from '../../../src/errors.js';
import { fakeClock } from '../../helpers/clock.js';

const secret = randomBytes(32);
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed = generateKeyPairSync('ed25519');
describe('createJwt: sign and verify', () => {
  const cases = [
    { name: 'HS256', options: { secret }, alg: 'HS256', verifyKey: secret },
    { name: 'RS256', options: { privateKey: rsa.privateKey }, alg: 'RS256', verifyKey: rsa.publicKey },
    {
      name: 'PS256',
      options: { privateKey: rsa.privateKey, algorithms: ['PS256' as const] },
      alg: 'PS256',
      verifyKey: rsa.publicKey,
    },
    { name: 'ES256', options: { privateKey: ec.privateKey }, alg: 'ES256', verifyKey: ec.publicKey },
    { name: 'EdDSA', options: { privateKey: ed.privateKey }, alg: 'EdDSA', verifyKey: ed.publicKey },
  ];
  for (const c of cases) {
    it(`${c.name}: round trip, and interoperates with jose both ways`, async () => {
      const jwt = createJwt({ ...c.options, issuer: 'iss', audience: 'aud' });
      expect(jwt.algorithms).toEqual([c.alg]);
      const token = await jwt.sign({ sub: 'u1', roles: ['admin'] });
      const claims = await jwt.verify(token);
      expect(claims).toMatchObject({ sub: 'u1', roles: ['admin'], iss: 'iss', aud: 'aud' });
      expect(typeof claims.jti).toBe('string');
      expect((claims.exp as number) - (claims.iat as number)).toBe(900);
      expect(Object.isFrozen(claims)).toBe(true);
      // jose accepts what we sign...
      const { payload } = await jwtVerify(token, c.verifyKey as never, {
        algorithms: [c.alg],
        issuer: 'iss',
        audience: 'aud',
      });
      expect(payload.sub).toBe('u1');
      // ...and we accept what jose signs.
      const joseToken = await new SignJWT({ sub: 'u2' })
        .setProtectedHeader({ alg: c.alg })
        .setIssuer('iss')
        .setAudience('aud')
        .setExpirationTime('5m')
        .sign(
          (c.options as { secret?: Uint8Array; privateKey?: unknown }).secret ??
            (c.options.privateKey as never),
        );
      expect((await jwt.verify(joseToken)).sub).toBe('u2');
    });
  }

  it('verifies with a public key alone (PEM and JWK) and cannot sign with it', async () => {
    const signer = createJwt({
      privateKey: rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    });
    const pem = createJwt({ publicKey: rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string });
    const jwk = createJwt({ publicKey: rsa.publicKey.export({ format: 'jwk' }) });
    const token = await signer.sign({ sub: 'x' });
    expect((await pem.verify(token)).sub).toBe('x');
    expect((await jwk.verify(token)).sub).toBe('x');
    await expect(pem.sign({})).rejects.toBeInstanceOf(InvalidArgumentError);
    // jose-imported CryptoKey works too.
    const spki: any = await importSPKI(
      rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string,
      'RS256',
    );
    expect((await createJwt({ publicKey: spki }).verify(token)).sub).toBe('x');
    const fromJwk: any = await importJWK(await exportJWK(ec.publicKey), 'ES256');
    expect(createJwt({ publicKey: fromJwk }).algorithms).toEqual(['ES256']);
  });

  it('refuses unsafe configurations at construction', () => {
    expect(() => createJwt({ secret: 'short' })).toThrow(InvalidOptionsError);
    expect(() => createJwt({ secret: 'x'.repeat(31) })).toThrow(/at least 32 bytes/);
    expect(() => createJwt({ secret: 'x'.repeat(32), algorithms: ['HS512'] })).toThrow(/64 bytes/);
    expect(() => createJwt({ secret, algorithms: ['RS256'] })).toThrow(InvalidOptionsError);
    expect(() => createJwt({ publicKey: rsa.publicKey, algorithms: ['HS256'] })).toThrow(InvalidOptionsError);
    expect(() => createJwt({ publicKey: rsa.publicKey, algorithms: ['none' as never] })).toThrow(
      InvalidOptionsError,
    );
    expect(() => createJwt({ publicKey: ec.publicKey, algorithms: ['ES384'] })).toThrow(InvalidOptionsError);
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(() => createJwt({ privateKey: weak.privateKey })).toThrow(/2048/);
    expect(() => createJwt({} as never)).toThrow(InvalidOptionsError);
    expect(() => createJwt({ secret, publicKey: rsa.publicKey })).toThrow(InvalidOptionsError);
    expect(() => createJwt({ publicKey: 'not a pem' })).toThrow(InvalidOptionsError);
    expect(() => createJwt({ jwksUrl: 'ftp://x/jwks', algorithms: ['RS256'] })).toThrow(InvalidOptionsError);
    expect(() => createJwt({ jwksUrl: 'https://x/jwks', algorithms: ['HS256'] })).toThrow(
      InvalidOptionsError,
    );
    expect(() => createJwt({ secret, expiresInMs: 0 })).toThrow(InvalidOptionsError);
    expect(() => createJwt({ secret, maxTokenBytes: 1 })).toThrow(InvalidOptionsError);
  });

  it('never echoes a bad key in its error', () => {
    const leaked = 'SUPERSECRETKEYMATERIAL';
    try {
      createJwt({ publicKey: `-----BEGIN PUBLIC KEY-----\n${leaked}\n-----END PUBLIC KEY-----` });
      expect.unreachable();
    } catch (err) {
      expect(String(err)).not.toContain(leaked);
      expect((err as Error).cause).toBeUndefined();
    }
  });

  it('refuses exp/iat in claims, and pollution payloads', async () => {
    const jwt = createJwt({ secret });
    await expect(jwt.sign({ exp: 1 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(jwt.sign(JSON.parse('{"__proto__":{"admin":true}}'))).rejects.toSatisfy((e) =>
      isScaleoutError(e, 'ERR_UNSAFE_PAYLOAD'),
    );
  });

  it('caches verified tokens only until their exp', async () => {
    let now = 1_700_000_000_000;
    const jwt = createJwt({ secret, now: () => now, clockToleranceMs: 0, expiresInMs: 60_000 });
    const token = await jwt.sign({ sub: 'a' });
    const first = await jwt.verify(token);
    expect(await jwt.verify(token)).toBe(first); // a hit returns the same frozen claims
    now += 59_000;
    expect(await jwt.verify(token)).toBe(first);
    now += 1_000;
    await expect(jwt.verify(token)).rejects.toBeInstanceOf(JwtExpiredError);
    const uncached = createJwt({ secret, now: () => now, cacheMaxEntries: 0 });
    const t2 = await uncached.sign({});
    expect(await uncached.verify(t2)).not.toBe(await uncached.verify(t2));
  });

  it('checks the denylist on every verify, cache hits included', async () => {
    const denylist = new MemoryJwtDenylist();
    const jwt = createJwt({ secret, denylist });
    const token = await jwt.sign({ sub: 'a' });
    const other = await jwt.sign({ sub: 'a' });
    await jwt.verify(token); // now cached
    await jwt.revoke(token);
    await expect(jwt.verify(token)).rejects.toBeInstanceOf(JwtRevokedError);
    expect((await jwt.verify(other)).sub).toBe('a');
    await jwt.revoke(token); // idempotent
    expect(() => jwt.verifySync(other)).toThrow(InvalidArgumentError);
    const plain = createJwt({ secret });
    await expect(plain.revoke(token)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(plain.verifySync(other).sub).toBe('a');
  });

  it('rotates keys by kid: old tokens keep verifying with verificationKeys', async () => {
    const oldSecret = randomBytes(32);
    const old = createJwt({ secret: oldSecret, kid: 'k1' });
    const current = createJwt({ secret, kid: 'k2', verificationKeys: [{ kid: 'k1', secret: oldSecret }] });
    const oldToken = await old.sign({ sub: 'old' });
    const newToken = await current.sign({ sub: 'new' });
    expect((await current.verify(oldToken)).sub).toBe('old');
    expect((await current.verify(newToken)).sub).toBe('new');
    await expect(old.verify(newToken)).rejects.toSatisfy((e) =>
      isScaleoutError(e, 'ERR_JWKS_NO_MATCHING_KEY'),
    );
  });

  it('honours nbf from sign options and the clock tolerance', async () => {
    let now = 1_700_000_000_000;
    const jwt = createJwt({ secret, now: () => now, clockToleranceMs: 2_000 });
    const token = await jwt.sign({}, { notBeforeMs: 10_000 });
    await expect(jwt.verify(token)).rejects.toSatisfy((e) => isScaleoutError(e, 'ERR_JWT_NOT_YET_VALID'));
    now += 8_000;
    expect(await jwt.verify(token)).toBeTruthy();
  });

  it('takes its time source as clock (now still works; both at once are refused)', async () => {
    const clock = fakeClock(1_700_000_000_000);
    const jwt = createJwt({ secret, clock, clockToleranceMs: 0, expiresInMs: 60_000, cacheMaxEntries: 0 });
    const token = await jwt.sign({ sub: 'u' });
    expect(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).iat).toBe(1_700_000_000);
    clock.advance(59_999);
    expect((await jwt.verify(token)).sub).toBe('u');
    clock.advance(1);
    await expect(jwt.verify(token)).rejects.toBeInstanceOf(JwtExpiredError);
    expect(() => createJwt({ secret, clock, now: Date.now })).toThrow(InvalidOptionsError);
    expect(() => createJwt({ secret, clock: { now: () => 1 } as never })).toThrow(InvalidOptionsError);
  });
});
