import { createSecretKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type JwtAlgorithm, signBytes, signerFor, verifyBytes } from '../../../src/auth/jwt-algorithms.js';

const secret = createSecretKey(randomBytes(64));
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed = generateKeyPairSync('ed25519');
const input = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0';

describe('signerFor: the prepared signing function of one key', () => {
  const cases: Array<[JwtAlgorithm, typeof rsa]> = [
    ['HS256', { privateKey: secret, publicKey: secret }],
    ['HS512', { privateKey: secret, publicKey: secret }],
    ['RS256', rsa],
    ['PS256', rsa],
    ['ES256', ec],
    ['EdDSA', ed],
  ];
  for (const [alg, pair] of cases) {
    it(`${alg}: base64url text that verifies, the same bytes signBytes writes when deterministic`, () => {
      const sign = signerFor(alg, pair.privateKey);
      const signature = sign(input);
      expect(signature).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(verifyBytes(alg, pair.publicKey, input, Buffer.from(signature, 'base64url'))).toBe(true);
      expect(verifyBytes(alg, pair.publicKey, `${input}x`, Buffer.from(signature, 'base64url'))).toBe(false);
      // HMAC, RSASSA-PKCS1 and Ed25519 are deterministic; PSS and ECDSA are randomized.
      if (!['PS256', 'ES256'].includes(alg)) {
        expect(signature).toBe(signBytes(alg, pair.privateKey, input).toString('base64url'));
      }
    });
  }
});
