/**
 * The attack suite: each forged or broken token is refused by scaleout with
 * the right typed error and no crash, and by jose (the reference, configured
 * as strictly) too.
 */
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { MemoryJwtDenylist } from '../../../src/adapters/memory/memory-jwt-denylist.js';
import { createJwt } from '../../../src/auth/jwt.js';
import {
  type ErrorCode,
  InvalidArgumentError,
  isScaleoutError,
  JwtError,
  JwtExpiredError,
  JwtRevokedError,
} from '../../../src/errors.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string;
const secret = randomBytes(32);
const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

const rs = createJwt({ privateKey: rsa.privateKey, issuer: 'good-iss', audience: 'good-aud', kid: 'main' });
const hs = createJwt({ secret, issuer: 'good-iss', audience: 'good-aud' });

function hmacToken(header: object, payload: object, key: Uint8Array | string = secret): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}

const validClaims = () => ({ sub: 'u', iss: 'good-iss', aud: 'good-aud', iat: now(), exp: now() + 600 });

async function expectRefused(
  verifier: typeof rs,
  token: string,
  code: ErrorCode,
  reference: { key: unknown; algorithms: string[] },
  referenceAccepts = false,
): Promise<void> {
  const err = await verifier.verify(token).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `scaleout accepted a token that should fail with ${code}`).toBeInstanceOf(JwtError);
  expect((err as JwtError).code).toBe(code);
  if (token.length >= 8) expect((err as Error).message).not.toContain(token.slice(0, 20));
  const payloadPart = token.split('.')[1] ?? '';
  if (payloadPart.length >= 8) expect(String((err as Error).stack)).not.toContain(payloadPart);
  const joseResult = expect(
    jwtVerify(token, reference.key as never, {
      algorithms: reference.algorithms,
      issuer: 'good-iss',
      audience: 'good-aud',
      requiredClaims: ['exp'],
    }),
  );
  // Where jose is more lenient than scaleout, say so (the test fails if that changes).
  if (referenceAccepts) await joseResult.resolves.toBeTruthy();
  else await joseResult.rejects.toBeTruthy();
}

const rsRef = { key: rsa.publicKey, algorithms: ['RS256'] };
const hsRef = { key: secret, algorithms: ['HS256'] };

describe('JWT attack suite (scaleout and jose both refuse)', () => {
  it('alg none', async () => {
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(validClaims())}.`;
    await expectRefused(rs, token, 'ERR_JWT_ALGORITHM', rsRef);
    await expectRefused(hs, token, 'ERR_JWT_ALGORITHM', hsRef);
    const withSig = `${b64({ alg: 'None' })}.${b64(validClaims())}.${b64('x')}`;
    await expectRefused(rs, withSig, 'ERR_JWT_ALGORITHM', rsRef);
  });

  it('HS256 signed with the RSA public key (algorithm confusion)', async () => {
    const token = hmacToken({ alg: 'HS256', kid: 'main' }, validClaims(), rsaPem);
    await expectRefused(rs, token, 'ERR_JWT_ALGORITHM', rsRef);
  });

  it('tampered payload', async () => {
    const token = await rs.sign({ sub: 'user', role: 'user' });
    const [h, p, s] = token.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
    payload.role = 'admin';
    await expectRefused(rs, `${h}.${b64(payload)}.${s}`, 'ERR_JWT_INVALID_SIGNATURE', rsRef);
    const hsToken = await hs.sign({ role: 'user' });
    const [hh, , hsig] = hsToken.split('.');
    await expectRefused(
      hs,
      `${hh}.${b64({ ...validClaims(), role: 'admin' })}.${hsig}`,
      'ERR_JWT_INVALID_SIGNATURE',
      hsRef,
    );
  });

  it('bad signature (random bytes, truncated, empty)', async () => {
    const token = await rs.sign({ sub: 'user' });
    const [h, p] = token.split('.');
    await expectRefused(
      rs,
      `${h}.${p}.${randomBytes(256).toString('base64url')}`,
      'ERR_JWT_INVALID_SIGNATURE',
      rsRef,
    );
    await expectRefused(
      rs,
      `${h}.${p}.${randomBytes(10).toString('base64url')}`,
      'ERR_JWT_INVALID_SIGNATURE',
      rsRef,
    );
    await expectRefused(rs, `${h}.${p}.`, 'ERR_JWT_INVALID_SIGNATURE', rsRef);
    await expectRefused(
      hs,
      hmacToken({ alg: 'HS256' }, validClaims(), randomBytes(32)),
      'ERR_JWT_INVALID_SIGNATURE',
      hsRef,
    );
  });

  it('expired', async () => {
    const token = hmacToken({ alg: 'HS256' }, { ...validClaims(), iat: now() - 7200, exp: now() - 3600 });
    await expectRefused(hs, token, 'ERR_JWT_EXPIRED', hsRef);
  });

  it('nbf in the future', async () => {
    const token = hmacToken({ alg: 'HS256' }, { ...validClaims(), nbf: now() + 3600 });
    await expectRefused(hs, token, 'ERR_JWT_NOT_YET_VALID', hsRef);
  });

  it('wrong iss and wrong aud', async () => {
    await expectRefused(
      hs,
      hmacToken({ alg: 'HS256' }, { ...validClaims(), iss: 'evil' }),
      'ERR_JWT_CLAIM_MISMATCH',
      hsRef,
    );
    await expectRefused(
      hs,
      hmacToken({ alg: 'HS256' }, { ...validClaims(), aud: ['evil', 'x'] }),
      'ERR_JWT_CLAIM_MISMATCH',
      hsRef,
    );
    const { iss: _i, ...noIss } = validClaims();
    await expectRefused(hs, hmacToken({ alg: 'HS256' }, noIss), 'ERR_JWT_CLAIM_MISSING', hsRef);
  });

  it('missing exp (and exp of the wrong type)', async () => {
    const { exp: _e, ...noExp } = validClaims();
    await expectRefused(hs, hmacToken({ alg: 'HS256' }, noExp), 'ERR_JWT_CLAIM_MISSING', hsRef);
    await expectRefused(
      hs,
      hmacToken({ alg: 'HS256' }, { ...noExp, exp: '9999999999' }),
      'ERR_JWT_CLAIM_MISSING',
      hsRef,
    );
    // jose accepts a token without exp unless told otherwise; scaleout always refuses it.
    await expect(
      jwtVerify(hmacToken({ alg: 'HS256' }, noExp), secret, { algorithms: ['HS256'] }),
    ).resolves.toBeTruthy();
  });

  it('kid with path or SQL characters', async () => {
    for (const kid of ['../../../../dev/null', "' OR 1=1 --", 'main; DROP TABLE keys', '/etc/passwd\u0000']) {
      const token = hmacToken({ alg: 'HS256', kid }, validClaims(), rsaPem);
      await expectRefused(rs, token, 'ERR_JWT_ALGORITHM', rsRef);
      const signed = `${b64({ alg: 'RS256', kid })}.${b64(validClaims())}.${randomBytes(256).toString('base64url')}`;
      await expectRefused(rs, signed, 'ERR_JWKS_NO_MATCHING_KEY', rsRef);
    }
    const longKid = hmacToken({ alg: 'HS256', kid: 'k'.repeat(5000) }, validClaims());
    // jose does not bound kid; scaleout refuses kids over 256 characters.
    await expectRefused(hs, longKid, 'ERR_JWT_MALFORMED', hsRef, true);
  });

  it('malformed base64 and structure', async () => {
    const good = await hs.sign({});
    const [h, p, s] = good.split('.');
    const cases = [
      `${h}!.${p}.${s}`,
      `${h}.${p}+/.${s}`,
      `${h}.${p}`,
      `${h}.${p}.${s}.${s}`,
      `${b64('not json')}.${p}.${s}`,
      `${b64('[1,2]')}.${p}.${s}`,
      `${h}a.${p}.${s}`,
      '',
      '...',
      'Bearer x.y.z',
    ];
    for (const token of cases) await expectRefused(hs, token, 'ERR_JWT_MALFORMED', hsRef);
    // jose tolerates base64 padding on the signature; scaleout accepts one spelling only.
    await expectRefused(hs, `${h}.${p}.${s}=`, 'ERR_JWT_MALFORMED', hsRef, true);
    // A payload that is not JSON behind a valid signature.
    await expectRefused(hs, hmacToken({ alg: 'HS256' }, 'oops' as never), 'ERR_JWT_MALFORMED', hsRef);
  });

  it('a 1 MB token is refused before parsing', async () => {
    const huge = `${b64({ alg: 'HS256' })}.${'A'.repeat(1_048_576)}.${'B'.repeat(43)}`;
    await expectRefused(hs, huge, 'ERR_JWT_TOO_LARGE', hsRef);
    await expectRefused(hs, `${'x'.repeat(1_048_576)}`, 'ERR_JWT_TOO_LARGE', hsRef);
  });

  it('crit header (and b64: false)', async () => {
    await expectRefused(
      hs,
      hmacToken({ alg: 'HS256', crit: ['exp'], exp: 1 }, validClaims()),
      'ERR_JWT_UNSUPPORTED_HEADER',
      hsRef,
    );
    await expectRefused(
      hs,
      hmacToken({ alg: 'HS256', b64: false, crit: ['b64'] }, validClaims()),
      'ERR_JWT_UNSUPPORTED_HEADER',
      hsRef,
    );
  });

  it('embedded jwk header is ignored, not trusted', async () => {
    const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = attacker.publicKey.export({ format: 'jwk' });
    const header = { alg: 'RS256', jwk, kid: 'main' };
    const input = `${b64(header)}.${b64(validClaims())}`;
    const { sign } = await import('node:crypto');
    const token = `${input}.${sign('sha256', Buffer.from(input), attacker.privateKey).toString('base64url')}`;
    await expectRefused(rs, token, 'ERR_JWT_INVALID_SIGNATURE', rsRef);
  });

  it('prototype pollution in a validly signed payload is refused', async () => {
    const token = hmacToken(
      { alg: 'HS256' },
      JSON.parse(`{"__proto__":{"admin":true},"exp":${now() + 60},"iss":"good-iss","aud":"good-aud"}`),
    );
    const err = await hs.verify(token).catch((e: unknown) => e);
    expect(isScaleoutError(err, 'ERR_JWT_MALFORMED')).toBe(true);
    expect(({} as { admin?: boolean }).admin).toBeUndefined();
  });
});

describe('prototype keys spelled with JSON escapes', () => {
  it('a "__proto__" or "constructor.prototype" key written with \\u escapes is refused', async () => {
    const exp = now() + 60;
    for (const payload of [
      `{"\\u005f_proto__":{"admin":true},"exp":${exp},"iss":"good-iss","aud":"good-aud"}`,
      `{"__pr\\u006fto__":{"admin":true},"exp":${exp},"iss":"good-iss","aud":"good-aud"}`,
      `{"constructor":{"pr\\u006ftotype":{"admin":true}},"exp":${exp},"iss":"good-iss","aud":"good-aud"}`,
    ]) {
      const input = `${b64({ alg: 'HS256' })}.${Buffer.from(payload).toString('base64url')}`;
      const token = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
      expect(JSON.parse(payload)).toBeTypeOf('object'); // the escapes are valid JSON
      const err = await hs.verify(token).catch((e: unknown) => e);
      expect(isScaleoutError(err, 'ERR_JWT_MALFORMED')).toBe(true);
      expect(() => hs.verifySync(token)).toThrow(JwtError);
    }
  });

  it('escaped ordinary text still verifies', async () => {
    const exp = now() + 60;
    const payload = `{"sub":"a\\/b \\u00e9","exp":${exp},"iss":"good-iss","aud":"good-aud"}`;
    const input = `${b64({ alg: 'HS256' })}.${Buffer.from(payload).toString('base64url')}`;
    const token = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
    expect((await hs.verify(token)).sub).toBe('a/b \u00e9');
  });
});

describe('property: random input never verifies and only throws typed errors', () => {
  const verifiers = [hs, rs];
  const assertTypedRejection = async (token: string) => {
    for (const v of verifiers) {
      const err = await v.verify(token).then(
        () => new Error('verified a random token'),
        (e: unknown) => e,
      );
      if (!(err instanceof JwtError)) throw err;
      expect(err.message).not.toContain(token.length > 8 ? token : '\u0000never');
    }
  };

  it('random strings', async () => {
    await fc.assert(fc.asyncProperty(fc.string({ maxLength: 300 }), assertTypedRejection), { numRuns: 500 });
  });

  it('random bytes as latin1 text', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), (bytes) =>
        assertTypedRejection(Buffer.from(bytes).toString('latin1')),
      ),
      { numRuns: 500 },
    );
  });

  it('three random base64url parts', async () => {
    const part = fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('base64url'));
    await fc.assert(
      fc.asyncProperty(part, part, part, (a, b, c) => assertTypedRejection(`${a}.${b}.${c}`)),
      { numRuns: 500 },
    );
  });

  it('valid header and random JSON payload with a random signature', async () => {
    const header = b64({ alg: 'HS256' });
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), fc.uint8Array({ minLength: 0, maxLength: 64 }), (payload, sig) =>
        assertTypedRejection(`${header}.${b64(payload)}.${Buffer.from(sig).toString('base64url')}`),
      ),
      { numRuns: 500 },
    );
  });
});

describe('JwtVerifier: cache and denylist', () => {
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
});
