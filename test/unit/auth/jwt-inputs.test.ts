/**
 * What createJwt, sign and verify accept: key material refused as an HMAC
 * secret (algorithm confusion), claims JSON cannot write faithfully,
 * unknown option keys, and the jsonwebtoken call shapes of the design.
 */
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
      'correct horse battery staple, correct horse battery staple',
    ]) {
      expect(() => createJwt({ secret })).not.toThrow();
    }
  });
});

describe('sign: claims JSON cannot write faithfully are refused with a typed error', () => {
  const jwt = createJwt({ secret: randomBytes(32) });

  it('circular claims are SerializationError, not a raw TypeError', async () => {
    const claims: Record<string, unknown> = { sub: 'u' };
    claims.self = claims;
    const err = caught(() => jwt.signSync(claims));
    expect(isScaleoutError(err, 'ERR_SERIALIZE')).toBe(true);
    await expect(jwt.sign(claims)).rejects.toMatchObject({ code: 'ERR_SERIALIZE' });
  });

  it('BigInt, functions, symbols, NaN/Infinity, Date/Map/Set/class instances, deep nesting', () => {
    class User {
      id = 1;
    }
    let deep: unknown = 'leaf';
    for (let i = 0; i < 200_000; i++) deep = [deep];
    const cases: Array<[string, Record<string, unknown>]> = [
      ['BigInt', { n: 10n }],
      ['function', { fn: () => 1 }],
      ['symbol value', { s: Symbol('x') }],
      ['symbol key', { [Symbol('k')]: 1 }],
      ['NaN', { n: Number.NaN }],
      ['Infinity', { n: Number.POSITIVE_INFINITY }],
      ['nested -Infinity', { a: { b: [Number.NEGATIVE_INFINITY] } }],
      ['undefined in an array', { list: [1, undefined] }],
      ['Date', { when: new Date() }],
      ['Map', { m: new Map([[1, 2]]) }],
      ['Set', { s: new Set([1]) }],
      ['class instance', { user: new User() }],
      ['deep nesting', { deep }],
    ];
    for (const [name, claims] of cases) {
      const err = caught(() => jwt.signSync(claims));
      expect(isScaleoutError(err, 'ERR_SERIALIZE'), name).toBe(true);
    }
  });

  it('non-object claims, class instances as claims, pollution keys, bad registered claims, huge claims', () => {
    class Entity {
      sub = 'u';
    }
    for (const claims of ['x', 1, [1], null, new Entity(), new Map()]) {
      expect(
        isScaleoutError(
          caught(() => jwt.signSync(claims as never)),
          'ERR_INVALID_ARGUMENT',
        ),
      ).toBe(true);
    }
    const polluted = JSON.parse('{"a":{"__proto__":{"admin":true}}}');
    expect(
      isScaleoutError(
        caught(() => jwt.signSync(polluted)),
        'ERR_UNSAFE_PAYLOAD',
      ),
    ).toBe(true);
    for (const claims of [{ sub: {} }, { sub: 1.5 }, { iss: 1 }, { aud: [] }, { jti: '' }, { nbf: 'x' }]) {
      expect(
        isScaleoutError(
          caught(() => jwt.signSync(claims as never)),
          'ERR_INVALID_ARGUMENT',
        ),
      ).toBe(true);
    }
    const huge = caught(() => jwt.signSync({ blob: 'x'.repeat(20_000) }));
    expect(isScaleoutError(huge, 'ERR_PAYLOAD_TOO_LARGE')).toBe(true);
    expect((huge as { maxBytes: number }).maxBytes).toBe(8192);
  });

  it('an undefined claim is absent (as in JSON); a numeric sub stays a number', async () => {
    const token = await jwt.sign({ sub: 42, name: undefined });
    const claims = await jwt.verify(token);
    expect(claims.sub).toBe(42);
    expect('name' in claims).toBe(false);
  });
});

describe('options: unknown keys are refused, the design’s jsonwebtoken calls fail loudly', () => {
  const secret = randomBytes(32);

  it('createJwt({ secret, expiresIn: "24h" }) is refused, suggesting expiresInMs', () => {
    const err = caught(() => createJwt({ secret, expiresIn: '24h' } as never));
    expect(isScaleoutError(err, 'ERR_INVALID_OPTIONS')).toBe(true);
    expect(err).toMatchObject({ option: 'expiresIn', suggestion: 'expiresInMs' });
    expect(String((err as Error).message)).toContain('expiresInMs');
    expect(caught(() => createJwt({ secret, algorithm: 'HS256' } as never))).toMatchObject({
      suggestion: 'algorithms',
    });
    expect(caught(() => createJwt({ secret, issure: 'x' } as never))).toMatchObject({ suggestion: 'issuer' });
    expect(caught(() => createJwt(secret as never))).toMatchObject({ code: 'ERR_INVALID_OPTIONS' });
    expect(caught(() => createJwt('secret' as never))).toMatchObject({ code: 'ERR_INVALID_OPTIONS' });
    expect(
      caught(() =>
        createJwt({
          secret,
          kid: 'a',
          verificationKeys: [{ kid: 'b', secret: randomBytes(32), alg: 'x' }],
        } as never),
      ),
    ).toMatchObject({ code: 'ERR_INVALID_OPTIONS', option: 'alg' });
    expect(caught(() => createJwt({ secret, verificationKeys: {} } as never))).toMatchObject({
      option: 'verificationKeys',
    });
  });

  it('sign options refuse unknown keys and bare numbers; sign(payload, secret, { expiresIn }) is refused', async () => {
    const jwt = createJwt({ secret });
    await expect(jwt.sign({}, { expiresIn: '24h' } as never)).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTIONS',
      suggestion: 'expiresInMs',
    });
    await expect(jwt.sign({}, 3600 as never)).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTIONS',
      option: 'expiresInMs',
    });
    // The design's call: jwt.sign(payload, process.env.JWT_SECRET, { expiresIn: '24h' }).
    // It throws at once: code written for jsonwebtoken's synchronous sign
    // would otherwise hand a pending promise on as the token.
    const design = jwt.sign as unknown as (...args: unknown[]) => Promise<string>;
    expect(caught(() => design.call(jwt, { sub: 1 }, 'the-secret', { expiresIn: '24h' }))).toMatchObject({
      code: 'ERR_INVALID_OPTIONS',
      suggestion: 'expiresInMs',
    });
    expect(caught(() => design.call(jwt, { sub: 1 }, 'the-secret'))).toMatchObject({ option: 'secret' });
    const designSync = jwt.signSync as unknown as (...args: unknown[]) => string;
    expect(caught(() => designSync.call(jwt, { sub: 1 }, secret, { expiresIn: '24h' }))).toMatchObject({
      suggestion: 'expiresInMs',
    });
    // ... and jwt.verify(token, process.env.JWT_SECRET).
    const token = await jwt.sign({ sub: 1 }, { expiresInMs: 86_400_000 });
    // It throws at once too: the design's middleware calls verify in a
    // try/catch without awaiting it; a promise there would be taken for claims.
    const verify = jwt.verify as unknown as (...args: unknown[]) => Promise<unknown>;
    expect(caught(() => verify.call(jwt, token, 'the-secret'))).toMatchObject({
      code: 'ERR_INVALID_OPTIONS',
    });
    expect(caught(() => verify.call(jwt, token, undefined))).toMatchObject({ code: 'ERR_INVALID_OPTIONS' });
    const verifySync = jwt.verifySync as unknown as (...args: unknown[]) => unknown;
    expect(caught(() => verifySync.call(jwt, token, 'the-secret'))).toMatchObject({
      code: 'ERR_INVALID_OPTIONS',
    });
    const claims = await jwt.verify(token);
    expect((claims.exp as number) - (claims.iat as number)).toBe(86_400);
  });
});

describe('options of the wrong kind are refused at construction (found by the hostile suite)', () => {
  it('algorithms, jwksUrl, denylist, now, cacheMaxBytes', () => {
    const secret = randomBytes(32);
    for (const options of [
      { secret, algorithms: { a: 1 } },
      { secret, algorithms: 'HS256' },
      { secret, algorithms: [] },
      { secret, algorithms: [1] },
      { jwksUrl: Symbol('u') },
      { jwksUrl: 42 },
      { secret, denylist: {} },
      { secret, denylist: new Map() },
      { secret, now: 5 },
      { secret, cacheMaxBytes: 5n },
      { secret, cacheMaxBytes: Number.NaN },
    ]) {
      const err = caught(() => createJwt(options as never));
      expect(isScaleoutError(err, 'ERR_INVALID_OPTIONS'), JSON.stringify(Object.keys(options))).toBe(true);
    }
  });
});

describe('signatures have one spelling', () => {
  it('a signature whose unused trailing bits are set is refused, not verified as a second token', async () => {
    const jwt = createJwt({ secret: randomBytes(32) });
    const token = await jwt.sign({ sub: 'u' });
    const last = token.at(-1)!;
    // 32 signature bytes are 43 characters: the last one carries 4 bits and 2 unused ones.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = `${token.slice(0, -1)}${alphabet[alphabet.indexOf(last) | 1]}`;
    expect(twin).not.toBe(token);
    expect(Buffer.from(twin.split('.')[2]!, 'base64url')).toEqual(
      Buffer.from(token.split('.')[2]!, 'base64url'),
    );
    await expect(jwt.verify(token)).resolves.toMatchObject({ sub: 'u' });
    await expect(jwt.verify(twin)).rejects.toMatchObject({ code: 'ERR_JWT_MALFORMED' });
  });
});
