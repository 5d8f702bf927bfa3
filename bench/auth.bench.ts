/**
 * JWT sign/verify against jose (used directly), fast-jwt (with and without
 * its cache) and jsonwebtoken (sessions: bench/sessions.bench.ts).
 * Runs the built package (`npm run bench` builds first), as users do.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createSigner, createVerifier } from 'fast-jwt';
import { jwtVerify, SignJWT } from 'jose';
import jsonwebtoken from 'jsonwebtoken';
import { createJwt } from '../dist/index.js';
import type { BenchContext } from './lib.js';

const DISTINCT = 2_000;
const claims = { sub: 'user-1', role: 'admin', tenant: 't-42' };

interface Setup {
  alg: 'HS256' | 'RS256' | 'ES256' | 'EdDSA';
  signKey: KeyObject | Buffer;
  verifyKey: KeyObject | Buffer;
  pem: { sign: string | Buffer; verify: string | Buffer };
}

function setups(): Setup[] {
  const secret = Buffer.from('0123456789abcdef0123456789abcdef');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ed = generateKeyPairSync('ed25519');
  const pem = (k: KeyObject, kind: 'private' | 'public') =>
    k.export(
      kind === 'private' ? { type: 'pkcs8', format: 'pem' } : { type: 'spki', format: 'pem' },
    ) as string;
  return [
    { alg: 'HS256', signKey: secret, verifyKey: secret, pem: { sign: secret, verify: secret } },
    {
      alg: 'RS256',
      signKey: rsa.privateKey,
      verifyKey: rsa.publicKey,
      pem: { sign: pem(rsa.privateKey, 'private'), verify: pem(rsa.publicKey, 'public') },
    },
    {
      alg: 'ES256',
      signKey: ec.privateKey,
      verifyKey: ec.publicKey,
      pem: { sign: pem(ec.privateKey, 'private'), verify: pem(ec.publicKey, 'public') },
    },
    {
      alg: 'EdDSA',
      signKey: ed.privateKey,
      verifyKey: ed.publicKey,
      pem: { sign: pem(ed.privateKey, 'private'), verify: pem(ed.publicKey, 'public') },
    },
  ];
}

async function jwtBenches(ctx: BenchContext): Promise<void> {
  for (const s of setups()) {
    const keyOption =
      s.alg === 'HS256' ? { secret: s.signKey as Buffer } : { privateKey: s.signKey as KeyObject };
    const ours = createJwt({ ...keyOption, expiresInMs: 3_600_000, cacheMaxEntries: 0 });
    const oursCached = createJwt({ ...keyOption, expiresInMs: 3_600_000 });
    const fastSign = createSigner({ key: s.pem.sign, algorithm: s.alg, expiresIn: 3_600_000 });
    const fastVerify = createVerifier({ key: s.pem.verify, algorithms: [s.alg] });
    const fastVerifyCached = createVerifier({ key: s.pem.verify, algorithms: [s.alg], cache: true });
    const jwsKey = s.verifyKey;
    const joseSignKey = s.signKey;
    const tokens = Array.from({ length: DISTINCT }, (_, i) => ours.signSync({ ...claims, n: i }));
    let i = 0;
    const next = () => tokens[i++ % DISTINCT]!;
    const hot = tokens[0]!;
    const jwtOk = s.alg !== 'EdDSA'; // jsonwebtoken 9 has no EdDSA

    const sign: Record<string, () => unknown> = {
      'jose SignJWT': () =>
        new SignJWT(claims)
          .setProtectedHeader({ alg: s.alg })
          .setIssuedAt()
          .setExpirationTime('1h')
          .sign(joseSignKey as never),
      'fast-jwt': () => fastSign(claims),
      'scaleout signSync': () => ours.signSync(claims),
      'scaleout sign (async)': () => ours.sign(claims),
    };
    if (jwtOk) {
      sign['jsonwebtoken (KeyObject)'] = () =>
        jsonwebtoken.sign(claims, s.signKey as never, { algorithm: s.alg as 'HS256', expiresIn: '1h' });
    }
    await ctx.compare(`${s.alg} sign`, sign, { baseline: 'fast-jwt' });

    const verify: Record<string, () => unknown> = {
      'jose jwtVerify': () => jwtVerify(next(), jwsKey as never, { algorithms: [s.alg] }),
      'fast-jwt (no cache)': () => fastVerify(next()),
      'scaleout verifySync (no cache)': () => ours.verifySync(next()),
      'scaleout verify (async, no cache)': () => ours.verify(next()),
    };
    if (jwtOk) {
      verify['jsonwebtoken (KeyObject)'] = () =>
        jsonwebtoken.verify(next(), s.verifyKey as never, { algorithms: [s.alg as 'HS256'] });
    }
    await ctx.compare(`${s.alg} verify, ${DISTINCT} distinct tokens`, verify, {
      baseline: 'fast-jwt (no cache)',
    });

    await ctx.compare(
      `${s.alg} verify, one repeated token (caches on)`,
      {
        'fast-jwt (cache: true)': () => fastVerifyCached(hot),
        'scaleout verifySync (cache)': () => oursCached.verifySync(hot),
        'scaleout verify (async, cache)': () => oursCached.verify(hot),
      },
      { baseline: 'fast-jwt (cache: true)' },
    );
  }
}

export default async function (ctx: BenchContext): Promise<void> {
  await jwtBenches(ctx);
}
