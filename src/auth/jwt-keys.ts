import {
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  type JsonWebKey,
  KeyObject,
  type webcrypto,
} from 'node:crypto';
import { InvalidOptionsError } from '../errors.js';
import { ALGORITHMS, algorithmsFor, type JwtAlgorithm, type KeyFamily, keyFamily } from './jwt-algorithms.js';

/**
 * A key as the JWT options accept it: a node `KeyObject`, a PEM string
 * (SPKI/PKCS#8/PKCS#1), a JWK object, or a WebCrypto `CryptoKey`.
 *
 * @example
 * ```ts
 * const key: JwtKeyInput = readFileSync('public.pem', 'utf8');
 * ```
 */
export type JwtKeyInput = KeyObject | string | JsonWebKey | webcrypto.CryptoKey;

function isCryptoKey(value: unknown): value is webcrypto.CryptoKey {
  const ctor = (globalThis as { CryptoKey?: new () => unknown }).CryptoKey;
  return typeof ctor === 'function' && value instanceof ctor;
}

/** @internal */
export function importAsymmetric(input: JwtKeyInput, kind: 'public' | 'private', option: string): KeyObject {
  try {
    let key: KeyObject;
    if (input instanceof KeyObject) key = input;
    else if (isCryptoKey(input)) key = KeyObject.from(input);
    else if (typeof input === 'string')
      key = kind === 'public' ? createPublicKey(input) : createPrivateKey(input);
    else if (typeof input === 'object' && input !== null) {
      key =
        kind === 'public'
          ? createPublicKey({ key: input as never, format: 'jwk' })
          : createPrivateKey({ key: input as never, format: 'jwk' });
    } else throw new TypeError('unsupported key input');
    if (kind === 'public' && key.type === 'private') key = createPublicKey(key);
    if (key.type !== kind) throw new TypeError(`expected a ${kind} key`);
    return key;
  } catch (err) {
    if (err instanceof InvalidOptionsError) throw err;
    // The cause of a PEM/JWK parse error can quote key material: never attach it.
    throw new InvalidOptionsError(
      `${option} is not a usable ${kind} key (PEM, JWK, KeyObject or CryptoKey)`,
      {
        option,
      },
    );
  }
}

/** @internal */
export function importSecret(input: string | Uint8Array | KeyObject, option: string): KeyObject {
  if (input instanceof KeyObject) {
    if (input.type !== 'secret') throw new InvalidOptionsError(`${option} must be a secret key`, { option });
    return input;
  }
  if (typeof input === 'string') return createSecretKey(Buffer.from(input, 'utf8'));
  if (input instanceof Uint8Array) return createSecretKey(Buffer.from(input));
  throw new InvalidOptionsError(`${option} must be a string, Uint8Array or secret KeyObject`, { option });
}

/**
 * Checks a key against the algorithms it will be used with: HMAC secrets at
 * least as long as the hash (32 bytes for HS256), RSA moduli of 2048 bits
 * or more, and every algorithm of the key's own family (no HS/RS confusion).
 * Returns the allowed list: the given one, or the family's default.
 *
 * @internal
 */
export function pinAlgorithms(
  key: KeyObject,
  algorithms: readonly string[] | undefined,
  option: string,
): JwtAlgorithm[] {
  const family = keyFamily(key);
  if (family === undefined) {
    throw new InvalidOptionsError(
      `${option}: unsupported key type (use HMAC, RSA, EC P-256/384/521 or Ed25519)`,
      {
        option,
      },
    );
  }
  if (family === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048)
      throw new InvalidOptionsError(`${option}: RSA keys must be at least 2048 bits`, { option });
  }
  const list = algorithms === undefined ? [defaultAlgorithm(family)] : [...algorithms];
  if (list.length === 0)
    throw new InvalidOptionsError('algorithms must not be empty', { option: 'algorithms' });
  for (const alg of list) {
    if (!Object.hasOwn(ALGORITHMS, alg)) {
      throw new InvalidOptionsError(`algorithms: "${String(alg).slice(0, 20)}" is not supported`, {
        option: 'algorithms',
      });
    }
    const spec = ALGORITHMS[alg as JwtAlgorithm];
    if (spec.family !== family) {
      throw new InvalidOptionsError(
        `algorithms: ${alg} does not fit the ${family} key of ${option} (allowed: ${algorithmsFor(family).join(', ')})`,
        { option: 'algorithms' },
      );
    }
    if (family === 'secret' && (key.symmetricKeySize ?? 0) < spec.size) {
      throw new InvalidOptionsError(`${option}: ${alg} needs a secret of at least ${spec.size} bytes`, {
        option,
      });
    }
  }
  return list as JwtAlgorithm[];
}

function defaultAlgorithm(family: KeyFamily): JwtAlgorithm {
  switch (family) {
    case 'secret':
      return 'HS256';
    case 'rsa':
      return 'RS256';
    case 'ec-P-256':
      return 'ES256';
    case 'ec-P-384':
      return 'ES384';
    case 'ec-P-521':
      return 'ES512';
    case 'ed25519':
      return 'EdDSA';
  }
}
