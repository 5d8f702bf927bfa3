/**
 * Key preparation of a {@link Jwt}: from its options, once, the signing key
 * and algorithm, the static verification keys (the primary one and those
 * found by `kid` for rotation) or the remote JWKS, and the set of accepted
 * algorithms, each pinned to its key's family. Per token, only
 * {@link staticKeyFor} runs: a map lookup and a list check.
 *
 * @module
 */
import type { KeyObject } from 'node:crypto';
import { InvalidOptionsError, JwksNoMatchingKeyError, JwtAlgorithmError } from '../errors.js';
import { durationOption } from '../internal/validate.js';
import type { Clock } from '../types.js';
import { ALGORITHMS, type JwtAlgorithm } from './jwt-algorithms.js';
import { importAsymmetric, importSecret, pinAlgorithms } from './jwt-keys.js';
import { checkVerificationKey, JWT_DEFAULTS, type JwtOptions } from './jwt-options.js';
import { RemoteJwks } from './remote-jwks.js';

/** @internal A static verification key and the algorithms it may verify. */
export interface StaticKey {
  key: KeyObject;
  algorithms: readonly JwtAlgorithm[];
}

/** @internal The signing key and the algorithm it signs with. */
export interface SigningKey {
  key: KeyObject;
  alg: JwtAlgorithm;
}

/** @internal Everything a {@link Jwt} signs and verifies with, prepared once. */
export interface JwtKeySet {
  /** Undefined for a verify-only instance (public key alone, or a JWKS). */
  readonly signing: SigningKey | undefined;
  /** The key of tokens without a `kid` (or with the instance's own `kid`). */
  readonly primary: StaticKey | undefined;
  /** Keys found by the token's `kid` (rotation); empty without `kid`s. */
  readonly byKid: ReadonlyMap<string, StaticKey>;
  /** The remote key set, when `jwksUrl` is the key source. */
  readonly jwks: RemoteJwks | undefined;
  /** Algorithms accepted in a token header. */
  readonly allowed: ReadonlySet<JwtAlgorithm>;
}

/**
 * Imports and checks every key of `options` (one key source already
 * checked by the caller): HMAC secrets and RSA moduli long enough, no
 * algorithm outside the key's family, every verification key with a `kid`
 * fitting at least one accepted algorithm.
 *
 * @internal
 */
export function prepareJwtKeys(options: JwtOptions, clock: Clock, kid: string | undefined): JwtKeySet {
  let signing: SigningKey | undefined;
  let primary: StaticKey | undefined;
  let jwks: RemoteJwks | undefined;
  let allowed: ReadonlySet<JwtAlgorithm>;
  if (options.jwksUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(String(options.jwksUrl));
    } catch {
      throw new InvalidOptionsError('jwksUrl must be an absolute http(s) URL', { option: 'jwksUrl' });
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new InvalidOptionsError('jwksUrl must be an http(s) URL', { option: 'jwksUrl' });
    }
    const algorithms = options.algorithms ?? JWT_DEFAULTS.jwksAlgorithms;
    for (const alg of algorithms) {
      if (!Object.hasOwn(ALGORITHMS, alg) || ALGORITHMS[alg].family === 'secret') {
        throw new InvalidOptionsError('algorithms for a JWKS must be asymmetric (RS*, PS*, ES*, EdDSA)', {
          option: 'algorithms',
        });
      }
    }
    allowed = new Set(algorithms);
    jwks = new RemoteJwks(url, {
      cooldownMs: durationOption('jwksCooldownMs', options.jwksCooldownMs ?? JWT_DEFAULTS.jwksCooldownMs, 0),
      maxAgeMs: durationOption('jwksMaxAgeMs', options.jwksMaxAgeMs ?? JWT_DEFAULTS.jwksMaxAgeMs),
      timeoutMs: durationOption('jwksTimeoutMs', options.jwksTimeoutMs ?? JWT_DEFAULTS.jwksTimeoutMs),
      clock,
      logger: options.logger,
    });
  } else if (options.secret !== undefined) {
    const key = importSecret(options.secret, 'secret');
    const algorithms = pinAlgorithms(key, options.algorithms, 'secret');
    primary = { key, algorithms };
    signing = { key, alg: algorithms[0]! };
    allowed = new Set(algorithms);
  } else {
    const privateKey =
      options.privateKey === undefined
        ? undefined
        : importAsymmetric(options.privateKey, 'private', 'privateKey');
    const publicKey =
      options.publicKey !== undefined
        ? importAsymmetric(options.publicKey, 'public', 'publicKey')
        : importAsymmetric(privateKey!, 'public', 'privateKey');
    const algorithms = pinAlgorithms(publicKey, options.algorithms, 'publicKey');
    if (privateKey !== undefined) pinAlgorithms(privateKey, algorithms, 'privateKey');
    primary = { key: publicKey, algorithms };
    signing = privateKey === undefined ? undefined : { key: privateKey, alg: algorithms[0]! };
    allowed = new Set(algorithms);
  }
  const byKid = new Map<string, StaticKey>();
  for (const extra of options.verificationKeys ?? []) {
    checkVerificationKey(extra);
    if (typeof extra?.kid !== 'string' || extra.kid.length === 0) {
      throw new InvalidOptionsError('every verification key needs a kid', { option: 'verificationKeys' });
    }
    const key =
      extra.secret !== undefined
        ? importSecret(extra.secret, 'verificationKeys')
        : importAsymmetric(extra.publicKey as never, 'public', 'verificationKeys');
    const fitting = [...allowed].filter((alg) => {
      try {
        pinAlgorithms(key, [alg], 'verificationKeys');
        return true;
      } catch {
        return false;
      }
    });
    if (fitting.length === 0) {
      throw new InvalidOptionsError(
        `verification key "${extra.kid.slice(0, 40)}" fits none of the algorithms`,
        {
          option: 'verificationKeys',
        },
      );
    }
    byKid.set(extra.kid, { key, algorithms: fitting });
  }
  if (primary !== undefined && kid !== undefined) byKid.set(kid, primary);
  return { signing, primary, byKid, jwks, allowed };
}

/**
 * The static key for a token header: by `kid` when the set has `kid`s (an
 * unknown `kid` is {@link JwksNoMatchingKeyError}), else the primary key;
 * the header's algorithm must be one the key may verify.
 *
 * @internal
 */
export function staticKeyFor(keys: JwtKeySet, alg: JwtAlgorithm, kid: string | undefined): KeyObject {
  let entry: StaticKey | undefined;
  if (kid !== undefined && keys.byKid.size > 0) {
    entry = keys.byKid.get(kid);
    if (entry === undefined) throw new JwksNoMatchingKeyError('no key matches the token "kid"');
  } else {
    entry = keys.primary;
  }
  if (entry === undefined || !entry.algorithms.includes(alg)) {
    throw new JwtAlgorithmError('algorithm does not fit the key');
  }
  return entry.key;
}
