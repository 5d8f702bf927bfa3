/**
 * Published test vectors: RFC 7515 Appendix A (A.1 HS256, A.2 RS256, A.3
 * ES256, A.4 ES512), RFC 8037 A.4 (EdDSA, Ed25519) and RFC 7520 4.4 (HS256
 * with a kid). Each verifies when its algorithm is allowed; every one-bit
 * change of header, payload or signature, `alg: none` and a switch to HS256
 * are refused with the right code.
 *
 * A.4, RFC 8037 A.4 and RFC 7520 4.4 sign a payload that is text, not a
 * JSON object: they are JWS but not JWT. scaleout is a JWT library and
 * refuses such payloads (ERR_JWT_MALFORMED), a documented choice (docs/jwt.md);
 * the signature is checked first, so these vectors still prove the
 * signature code: the genuine signature fails on the payload, any changed
 * signature fails on the signature.
 */
import { createHmac, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createJwt, type Jwt } from '../../../src/auth/jwt.js';
import type { JwtAlgorithm } from '../../../src/auth/jwt-algorithms.js';
import type { JwtOptions } from '../../../src/auth/jwt-options.js';
import { type ErrorCode, JwtError } from '../../../src/errors.js';

// The RFC 7515 examples expire at 1300819380 (2011-03-22): a fixed clock a minute before.
const IN_2011 = () => (1_300_819_380 - 60) * 1000;
const PAYLOAD_7515 =
  'eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ';
const CLAIMS_7515 = { iss: 'joe', exp: 1_300_819_380, 'http://example.com/is_root': true };

interface Vector {
  name: string;
  alg: JwtAlgorithm;
  key: Pick<JwtOptions, 'secret' | 'publicKey'>;
  token: string;
  /** The payload is a JSON object (a JWT); otherwise a JWS over text. */
  jwt: boolean;
  /** An allowed algorithm list that excludes the vector's. */
  otherAlgorithms: JwtAlgorithm[];
  /** Checks the signature with node:crypto directly, to prove the vector data. */
  check(input: string, signature: Buffer): boolean;
}

const a1Key = Buffer.from(
  'AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow',
  'base64url',
);
const a2Jwk = {
  kty: 'RSA',
  n: 'ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ',
  e: 'AQAB',
};
const a3Jwk = {
  kty: 'EC',
  crv: 'P-256',
  x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
  y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
};
const a4Jwk = {
  kty: 'EC',
  crv: 'P-521',
  x: 'AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk',
  y: 'ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2',
};
const edJwk = { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' };
const r7520Key = Buffer.from('hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg', 'base64url');

const hmacCheck = (key: Buffer) => (input: string, signature: Buffer) =>
  createHmac('sha256', key).update(input).digest().equals(signature);
const publicCheck =
  (jwk: object, hash: string | null, ecdsa: boolean) => (input: string, signature: Buffer) =>
    cryptoVerify(
      hash,
      Buffer.from(input),
      ecdsa
        ? { key: createPublicKey({ key: jwk as never, format: 'jwk' }), dsaEncoding: 'ieee-p1363' }
        : createPublicKey({ key: jwk as never, format: 'jwk' }),
      signature,
    );

const VECTORS: Vector[] = [
  {
    name: 'RFC 7515 A.1 (HS256)',
    alg: 'HS256',
    key: { secret: a1Key },
    token: `eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.${PAYLOAD_7515}.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk`,
    jwt: true,
    otherAlgorithms: ['HS512'],
    check: hmacCheck(a1Key),
  },
  {
    name: 'RFC 7515 A.2 (RS256)',
    alg: 'RS256',
    key: { publicKey: a2Jwk },
    token: `eyJhbGciOiJSUzI1NiJ9.${PAYLOAD_7515}.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw`,
    jwt: true,
    otherAlgorithms: ['PS256'],
    check: publicCheck(a2Jwk, 'sha256', false),
  },
  {
    name: 'RFC 7515 A.3 (ES256)',
    alg: 'ES256',
    key: { publicKey: a3Jwk },
    token: `eyJhbGciOiJFUzI1NiJ9.${PAYLOAD_7515}.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q`,
    jwt: true,
    otherAlgorithms: [],
    check: publicCheck(a3Jwk, 'sha256', true),
  },
  {
    name: 'RFC 7515 A.4 (ES512, text payload)',
    alg: 'ES512',
    key: { publicKey: a4Jwk },
    token:
      'eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA.AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZqwqT2SI-KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8KpEHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn',
    jwt: false,
    otherAlgorithms: [],
    check: publicCheck(a4Jwk, 'sha512', true),
  },
  {
    name: 'RFC 8037 A.4 (EdDSA Ed25519, text payload)',
    alg: 'EdDSA',
    key: { publicKey: edJwk },
    token:
      'eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg',
    jwt: false,
    otherAlgorithms: [],
    check: publicCheck(edJwk, null, false),
  },
  {
    name: 'RFC 7520 4.4 (HS256 with kid, text payload)',
    alg: 'HS256',
    key: { secret: r7520Key },
    token:
      'eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVlZjMxNGJjNzAzNyJ9.SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4.s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0',
    jwt: false,
    // A 32-byte key fits no other HMAC algorithm (HS384 needs 48 bytes).
    otherAlgorithms: [],
    check: hmacCheck(r7520Key),
  },
];

async function codeOf(jwt: Jwt, token: string): Promise<ErrorCode | 'verified'> {
  try {
    await jwt.verify(token);
    return 'verified';
  } catch (err) {
    if (!(err instanceof JwtError)) throw err;
    return err.code;
  }
}

const b64 = (text: string) => Buffer.from(text).toString('base64url');

/** Bits to flip at byte `i` of `n`: all 8 at the two ends, one (rotating) elsewhere (ES512 verifies are slow). */
function bitsAt(i: number, n: number): number[] {
  return i < 2 || i >= n - 2 ? [0, 1, 2, 3, 4, 5, 6, 7] : [i % 8];
}

function flipBit(part: string, byte: number, bit: number): string {
  const bytes = Buffer.from(part, 'base64url');
  bytes[byte] = bytes[byte]! ^ (1 << bit);
  return bytes.toString('base64url');
}

describe.each(VECTORS)('$name', (v) => {
  const [header, payload, signature] = v.token.split('.') as [string, string, string];
  const verifier = (algorithms: JwtAlgorithm[] = [v.alg], now = IN_2011) =>
    createJwt({ ...v.key, algorithms, now, cacheMaxEntries: 0 });

  it('the vector data is right (checked with node:crypto directly)', () => {
    expect(v.check(`${header}.${payload}`, Buffer.from(signature, 'base64url'))).toBe(true);
  });

  it(
    v.jwt
      ? 'verifies when its algorithm is allowed'
      : 'its genuine signature passes; the text payload is refused',
    async () => {
      if (v.jwt) {
        expect(await verifier().verify(v.token)).toEqual(CLAIMS_7515);
        // Outside the fixed clock the example has long expired.
        expect(await codeOf(verifier([v.alg], Date.now), v.token)).toBe('ERR_JWT_EXPIRED');
      } else {
        expect(await codeOf(verifier(), v.token)).toBe('ERR_JWT_MALFORMED');
      }
    },
  );

  it('is refused when its algorithm is not allowed, and with alg none or HS256', async () => {
    if (v.otherAlgorithms.length > 0) {
      expect(await codeOf(verifier(v.otherAlgorithms), v.token)).toBe('ERR_JWT_ALGORITHM');
    }
    for (const alg of ['none', 'None', 'NONE']) {
      expect(await codeOf(verifier(), `${b64(`{"alg":"${alg}"}`)}.${payload}.`)).toBe('ERR_JWT_ALGORITHM');
      expect(await codeOf(verifier(), `${b64(`{"alg":"${alg}"}`)}.${payload}.${signature}`)).toBe(
        'ERR_JWT_ALGORITHM',
      );
    }
    // alg switched to HS256 (or, for an HS256 vector, to HS512), signed with the key as an HMAC secret.
    const other = v.alg === 'HS256' ? 'HS512' : 'HS256';
    const input = `${b64(`{"alg":"${other}"}`)}.${payload}`;
    const keyBytes =
      v.key.secret !== undefined
        ? Buffer.from(v.key.secret as Buffer)
        : createPublicKey({ key: v.key.publicKey as never, format: 'jwk' }).export({
            type: 'spki',
            format: 'pem',
          });
    const mac = createHmac(other === 'HS256' ? 'sha256' : 'sha512', keyBytes)
      .update(input)
      .digest('base64url');
    expect(await codeOf(verifier(), `${input}.${mac}`)).toBe('ERR_JWT_ALGORITHM');
  });

  it('every one-bit change of the header is refused', async () => {
    const jwt = verifier();
    const bytes = Buffer.from(header, 'base64url').length;
    for (let i = 0; i < bytes; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const code = await codeOf(jwt, `${flipBit(header, i, bit)}.${payload}.${signature}`);
        // A change inside "alg" names an algorithm that is not allowed; one that
        // breaks the JSON is malformed; any other fails the signature.
        expect(['ERR_JWT_ALGORITHM', 'ERR_JWT_MALFORMED', 'ERR_JWT_INVALID_SIGNATURE']).toContain(code);
      }
    }
  });

  it('every one-bit change of the payload fails the signature', async () => {
    const jwt = verifier();
    const bytes = Buffer.from(payload, 'base64url').length;
    for (let i = 0; i < bytes; i++) {
      for (const bit of bitsAt(i, bytes)) {
        expect(await codeOf(jwt, `${header}.${flipBit(payload, i, bit)}.${signature}`)).toBe(
          'ERR_JWT_INVALID_SIGNATURE',
        );
      }
    }
  });

  it('every one-bit change of the signature is refused (its bytes and its characters)', {
    timeout: 30_000,
  }, async () => {
    const jwt = verifier();
    const bytes = Buffer.from(signature, 'base64url').length;
    for (let i = 0; i < bytes; i++) {
      for (const bit of bitsAt(i, bytes)) {
        expect(await codeOf(jwt, `${header}.${payload}.${flipBit(signature, i, bit)}`)).toBe(
          'ERR_JWT_INVALID_SIGNATURE',
        );
      }
    }
    // Flipping a bit of a base64url character may change no byte at all (the
    // unused bits of the last one): that second spelling is refused too.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let i = 0; i < signature.length; i++) {
      for (const bit of bitsAt(i, signature.length).filter((b) => b < 6)) {
        const c = alphabet[alphabet.indexOf(signature[i]!) ^ (1 << bit)]!;
        const code = await codeOf(
          jwt,
          `${header}.${payload}.${signature.slice(0, i)}${c}${signature.slice(i + 1)}`,
        );
        expect(['ERR_JWT_INVALID_SIGNATURE', 'ERR_JWT_MALFORMED']).toContain(code);
      }
    }
  });
});
