/** Moved from jwt.test.ts: keys prepared once (public key alone, unsafe configurations, rotation by kid). */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { exportJWK, importJWK, importSPKI } from 'jose';
import { describe, expect, it } from 'vitest';
import { createJwt } from '../../../src/auth/jwt.js';
import { InvalidArgumentError, InvalidOptionsError, isScaleoutError } from '../../../src/errors.js';

const secret = randomBytes(32);
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });

describe('prepareJwtKeys: the key set of an instance', () => {
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
});
