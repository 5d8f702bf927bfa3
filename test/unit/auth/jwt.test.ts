import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { memoryJwtDenylist } from '../../../src/adapters/memory/index.js';
import { createJwt } from '../../../src/auth/jwt.js';
import {
  ClosedError,
  InvalidArgumentError,
  InvalidOptionsError,
  isScaleoutError,
  JwtExpiredError,
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

  it('refuses exp/iat in claims, and pollution payloads', async () => {
    const jwt = createJwt({ secret });
    await expect(jwt.sign({ exp: 1 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(jwt.sign(JSON.parse('{"__proto__":{"admin":true}}'))).rejects.toSatisfy((e) =>
      isScaleoutError(e, 'ERR_UNSAFE_PAYLOAD'),
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

describe('Jwt: one lifecycle', () => {
  it('close() is idempotent (the same promise) and [Symbol.asyncDispose] closes', async () => {
    const jwt = createJwt({ secret });
    const first = jwt.close();
    expect(jwt.close()).toBe(first);
    await first;
    const disposed = createJwt({ secret });
    await disposed[Symbol.asyncDispose]();
    await expect(disposed.sign({ sub: 'u1' })).rejects.toBeInstanceOf(ClosedError);
  });

  it('every call after close fails with ClosedError naming the Jwt', async () => {
    const denylist = memoryJwtDenylist();
    const jwt = createJwt({ secret, denylist });
    const token = await jwt.sign({ sub: 'u1' });
    const plain = createJwt({ secret });
    await jwt.close();
    await plain.close();
    const closed = expect.objectContaining({ code: 'ERR_CLOSED', message: 'Jwt is closed' });
    await expect(jwt.sign({ sub: 'u1' })).rejects.toEqual(closed);
    await expect(jwt.verify(token)).rejects.toEqual(closed);
    await expect(jwt.revoke(token)).rejects.toEqual(closed);
    await expect(jwt.revokeJti('j1', Date.now() + 60_000)).rejects.toEqual(closed);
    expect(() => plain.signSync({ sub: 'u1' })).toThrow(closed);
    expect(() => plain.verifySync(token)).toThrow(closed);
    // The denylist is the caller's: still open.
    await denylist.add('j2', Date.now() + 60_000);
    expect(await denylist.has('j2')).toBe(true);
    await denylist.close();
  });
});
