import {
  constants,
  createHmac,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
  timingSafeEqual,
} from 'node:crypto';

/**
 * The JWS algorithms scaleout signs and verifies. `none` is not one of them.
 *
 * @example
 * ```ts
 * const jwt = createJwt({ privateKey, publicKey, algorithms: ['ES256'] satisfies JwtAlgorithm[] });
 * ```
 */
export type JwtAlgorithm =
  | 'HS256'
  | 'HS384'
  | 'HS512'
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'EdDSA';

/** Which key kind an algorithm needs. */
export type KeyFamily = 'secret' | 'rsa' | 'ec-P-256' | 'ec-P-384' | 'ec-P-521' | 'ed25519';

interface AlgorithmSpec {
  family: KeyFamily;
  hash: 'sha256' | 'sha384' | 'sha512' | null;
  /** HMAC: shortest secret, bytes. ECDSA: signature length, bytes. */
  size: number;
  pss: boolean;
}

/** @internal */
export const ALGORITHMS: Readonly<Record<JwtAlgorithm, AlgorithmSpec>> = {
  HS256: { family: 'secret', hash: 'sha256', size: 32, pss: false },
  HS384: { family: 'secret', hash: 'sha384', size: 48, pss: false },
  HS512: { family: 'secret', hash: 'sha512', size: 64, pss: false },
  RS256: { family: 'rsa', hash: 'sha256', size: 0, pss: false },
  RS384: { family: 'rsa', hash: 'sha384', size: 0, pss: false },
  RS512: { family: 'rsa', hash: 'sha512', size: 0, pss: false },
  PS256: { family: 'rsa', hash: 'sha256', size: 32, pss: true },
  PS384: { family: 'rsa', hash: 'sha384', size: 48, pss: true },
  PS512: { family: 'rsa', hash: 'sha512', size: 64, pss: true },
  ES256: { family: 'ec-P-256', hash: 'sha256', size: 64, pss: false },
  ES384: { family: 'ec-P-384', hash: 'sha384', size: 96, pss: false },
  ES512: { family: 'ec-P-521', hash: 'sha512', size: 132, pss: false },
  EdDSA: { family: 'ed25519', hash: null, size: 64, pss: false },
};

/** @internal */
export function isAlgorithm(value: unknown): value is JwtAlgorithm {
  return typeof value === 'string' && Object.hasOwn(ALGORITHMS, value);
}

/** The key family of a node KeyObject, or undefined for unsupported keys. */
export function keyFamily(key: KeyObject): KeyFamily | undefined {
  if (key.type === 'secret') return 'secret';
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return 'rsa';
    case 'ed25519':
      return 'ed25519';
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve === 'prime256v1' || curve === 'P-256') return 'ec-P-256';
      if (curve === 'secp384r1' || curve === 'P-384') return 'ec-P-384';
      if (curve === 'secp521r1' || curve === 'P-521') return 'ec-P-521';
      return undefined;
    }
    default:
      return undefined;
  }
}

/** The algorithms a key family may be used with, strongest-default first. */
export function algorithmsFor(family: KeyFamily): JwtAlgorithm[] {
  return (Object.keys(ALGORITHMS) as JwtAlgorithm[]).filter((alg) => ALGORITHMS[alg].family === family);
}

/** Signs `input` (the ASCII `header.payload`) with `key` under `alg`. */
export function signBytes(alg: JwtAlgorithm, key: KeyObject, input: string): Buffer {
  const spec = ALGORITHMS[alg];
  if (spec.family === 'secret') return createHmac(spec.hash!, key).update(input).digest();
  if (spec.family === 'rsa') {
    return spec.pss
      ? cryptoSign(spec.hash, Buffer.from(input), {
          key,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength: spec.size,
        })
      : cryptoSign(spec.hash, Buffer.from(input), key);
  }
  if (spec.family === 'ed25519') return cryptoSign(null, Buffer.from(input), key);
  return cryptoSign(spec.hash, Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
}

/**
 * The signing function of one prepared key and algorithm: takes the ASCII
 * `header.payload` and answers its signature as base64url text. Chosen
 * once per key (as fast-jwt prepares its key once): HMAC digests straight
 * to base64url, with no signature buffer per token.
 *
 * @internal
 */
export function signerFor(alg: JwtAlgorithm, key: KeyObject): (input: string) => string {
  const spec = ALGORITHMS[alg];
  const hash = spec.hash;
  switch (spec.family) {
    case 'secret':
      return (input) => createHmac(hash!, key).update(input).digest('base64url');
    case 'ed25519':
      return (input) => cryptoSign(null, Buffer.from(input), key).toString('base64url');
    case 'rsa': {
      if (!spec.pss) return (input) => cryptoSign(hash, Buffer.from(input), key).toString('base64url');
      const pss = { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: spec.size };
      return (input) => cryptoSign(hash, Buffer.from(input), pss).toString('base64url');
    }
    default: {
      // The options object is built once: ECDSA signatures as JOSE's r || s.
      const ecdsa = { key, dsaEncoding: 'ieee-p1363' } as const;
      return (input) => cryptoSign(hash, Buffer.from(input), ecdsa).toString('base64url');
    }
  }
}

/** Checks `signature` over `input`; never throws on a bad signature (returns false). */
export function verifyBytes(alg: JwtAlgorithm, key: KeyObject, input: string, signature: Buffer): boolean {
  const spec = ALGORITHMS[alg];
  if (spec.family === 'secret') {
    const expected = createHmac(spec.hash!, key).update(input).digest();
    return expected.length === signature.length && timingSafeEqual(expected, signature);
  }
  try {
    if (spec.family === 'rsa') {
      return spec.pss
        ? cryptoVerify(
            spec.hash,
            Buffer.from(input),
            { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: spec.size },
            signature,
          )
        : cryptoVerify(spec.hash, Buffer.from(input), key, signature);
    }
    if (spec.family === 'ed25519') return cryptoVerify(null, Buffer.from(input), key, signature);
    if (signature.length !== spec.size) return false;
    return cryptoVerify(spec.hash, Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    // OpenSSL refuses some malformed signatures by throwing: that is a bad signature.
    return false;
  }
}
