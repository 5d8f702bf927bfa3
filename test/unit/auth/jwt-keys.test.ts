/** Key import and checks: key material is never accepted as an HMAC secret. */
import { createHmac, createSecretKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import jsonwebtoken from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import { createJwt } from '../../../src/auth/jwt.js';
import { isScaleoutError } from '../../../src/errors.js';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed = generateKeyPairSync('ed25519');
const pem = (key: { export(o: object): string | Buffer }, type: string) =>
  String(key.export({ type, format: 'pem' }));
describe('key material is never an HMAC secret (CVE-2023-48223 family)', () => {
  const publicPem = pem(rsa.publicKey, 'spki');

  it('the attack: a token HS256-signed with the public PEM is refused (createJwt refuses the PEM as a secret)', async () => {
    // What an attacker does with the public key they downloaded:
    const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'admin', exp: now() + 600 })}`;
    const forged = `${input}.${createHmac('sha256', publicPem).update(input).digest('base64url')}`;
    // ... and what a verifier configured with that PEM as its "secret" would do.
    const err = caught(() => createJwt({ secret: publicPem }));
    expect(isScaleoutError(err, 'ERR_INVALID_OPTIONS')).toBe(true);
    expect((err as { option?: string }).option).toBe('secret');
    expect(String((err as Error).message)).not.toContain('MII');
    // The right configuration (the PEM as publicKey) refuses the forged token by algorithm.
    const verifier = createJwt({ publicKey: publicPem });
    await expect(verifier.verify(forged)).rejects.toMatchObject({ code: 'ERR_JWT_ALGORITHM' });
    // jsonwebtoken refuses the same thing.
    expect(() => jsonwebtoken.verify(forged, publicPem)).toThrow(/symmetric|invalid algorithm/i);
  });

  it('refuses every spelling of key material as secret, in every place a secret enters', () => {
    const jwk = rsa.publicKey.export({ format: 'jwk' });
    const der = rsa.publicKey.export({ type: 'spki', format: 'der' });
    const sshLine = `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${randomBytes(24).toString('base64')} user@host`;
    const inputs: Array<[string, string | Uint8Array]> = [
      ['RSA public PEM (SPKI)', publicPem],
      ['RSA public PEM (PKCS#1)', pem(rsa.publicKey, 'pkcs1')],
      ['EC public PEM', pem(ec.publicKey, 'spki')],
      ['Ed25519 public PEM', pem(ed.publicKey, 'spki')],
      ['private PEM', pem(rsa.privateKey, 'pkcs8')],
      ['PEM with leading whitespace', `\n\n  ${publicPem}`],
      ['certificate PEM', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'],
      ['PEM bytes (readFileSync without utf8)', Buffer.from(publicPem)],
      ['JWK JSON', JSON.stringify(jwk)],
      ['JWK Set JSON', JSON.stringify({ keys: [jwk] })],
      ['SSH public key line', sshLine],
      ['DER bytes', der],
      ['base64 DER (PEM body without armour)', der.toString('base64')],
      ['hex DER', der.toString('hex')],
      ['hex DER, upper case', der.toString('hex').toUpperCase()],
      ['hex DER, colon-separated', der.toString('hex').replace(/(..)(?!$)/g, '$1:')],
      ['hex DER of a private key', rsa.privateKey.export({ type: 'pkcs8', format: 'der' }).toString('hex')],
    ];
    for (const [name, secret] of inputs) {
      for (const make of [
        () => createJwt({ secret }),
        () => createJwt({ secret: createSecretKey(Buffer.from(secret)) }),
        () => createJwt({ secret: randomBytes(32), kid: 'new', verificationKeys: [{ kid: 'old', secret }] }),
      ]) {
        const err = caught(make);
        expect(isScaleoutError(err, 'ERR_INVALID_OPTIONS'), name).toBe(true);
      }
    }
  });

  it('still accepts ordinary secrets, including ones that start with "{" or are base64', () => {
    for (const secret of [
      randomBytes(32),
      randomBytes(64).toString('base64'),
      randomBytes(48).toString('base64url'),
      `{${'x'.repeat(40)}`,
      JSON.stringify({ secret: randomBytes(32).toString('hex') }),
      randomBytes(32).toString('hex'),
      `30${randomBytes(63).toString('hex')}`, // hex that starts like DER and is not
      'correct horse battery staple, correct horse battery staple',
    ]) {
      expect(() => createJwt({ secret })).not.toThrow();
    }
  });
});
