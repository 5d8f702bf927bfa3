import {
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  type JsonWebKey,
  KeyObject,
  type webcrypto,
  X509Certificate,
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
  let bytes: Buffer;
  if (input instanceof KeyObject) {
    if (input.type !== 'secret') throw new InvalidOptionsError(`${option} must be a secret key`, { option });
    bytes = input.export();
  } else if (typeof input === 'string') bytes = Buffer.from(input, 'utf8');
  else if (input instanceof Uint8Array) bytes = Buffer.from(input);
  else
    throw new InvalidOptionsError(`${option} must be a string, Uint8Array or secret KeyObject`, { option });
  const kind = keyMaterialKind(bytes);
  if (kind !== undefined) {
    // An HMAC "secret" that is a public key lets anyone who has the public
    // key forge tokens (algorithm confusion, the CVE-2023-48223 family).
    throw new InvalidOptionsError(
      `${option} looks like ${kind}, not an HMAC secret: pass key pairs as privateKey/publicKey (a public key only verifies), and use random bytes as a secret`,
      { option },
    );
  }
  return input instanceof KeyObject ? input : createSecretKey(bytes);
}

const PEM_BLOCK = /-----BEGIN [A-Z0-9 #]+-----/;
// An OpenSSH public key line: "<type> AAAA<base64 blob> [comment]"; every
// blob starts with the 4-byte length of its type name, hence "AAAA".
const SSH_PUBLIC_KEY =
  /^\s*(?:(?:[a-z0-9-]+(?:@[a-z0-9.-]+)?)\s+)?(?:ssh-|ecdsa-sha2-|sk-)[a-z0-9-]+(?:@[a-z0-9.-]+)?\s+AAAA[A-Za-z0-9+/]/;
const BASE64_TEXT = /^[A-Za-z0-9+/=_\-\s]+$/;
// Hex bytes, whole or split by spaces or colons (`30 82 01 22`, `30:82:01:22`).
const HEX_TEXT = /^[0-9a-f]{2}(?:[\s:]*[0-9a-f]{2})*$/i;

function parsesAsDer(der: Buffer): boolean {
  if (der.length < 16 || der[0] !== 0x30) return false; // every DER key or certificate is a SEQUENCE
  const attempts: Array<() => unknown> = [
    () => createPublicKey({ key: der, format: 'der', type: 'spki' }),
    () => createPublicKey({ key: der, format: 'der', type: 'pkcs1' }),
    () => createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }),
    () => createPrivateKey({ key: der, format: 'der', type: 'pkcs1' }),
    () => createPrivateKey({ key: der, format: 'der', type: 'sec1' }),
    () => new X509Certificate(der),
  ];
  for (const attempt of attempts) {
    try {
      attempt();
      return true;
    } catch {
      // not this format
    }
  }
  return false;
}

/**
 * What kind of key material `bytes` are, when they are key material rather
 * than a secret: any PEM block (public or private key, certificate), a JWK
 * or JWK Set as JSON, an OpenSSH public key line, or a DER key or
 * certificate (raw, hex, or base64 without its PEM armour). Undefined for
 * anything else. Runs once per key, at construction.
 *
 * @internal
 */
export function keyMaterialKind(bytes: Buffer): string | undefined {
  const text = bytes.toString('latin1');
  if (PEM_BLOCK.test(text)) return 'a PEM key or certificate';
  if (SSH_PUBLIC_KEY.test(text)) return 'an SSH public key';
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(bytes.toString('utf8'));
      if (typeof parsed === 'object' && parsed !== null && ('kty' in parsed || 'keys' in parsed)) {
        return 'a JSON Web Key';
      }
    } catch {
      // not JSON: an ordinary secret may start with "{"
    }
  }
  if (parsesAsDer(bytes)) return 'a DER key or certificate';
  if (trimmed.length >= 64 && HEX_TEXT.test(trimmed)) {
    if (parsesAsDer(Buffer.from(trimmed.replace(/[\s:]+/g, ''), 'hex')))
      return 'a hex DER key or certificate';
  }
  if (trimmed.length >= 64 && BASE64_TEXT.test(trimmed)) {
    const decoded = Buffer.from(
      trimmed.replace(/\s+/g, ''),
      trimmed.includes('-') || trimmed.includes('_') ? 'base64url' : 'base64',
    );
    if (parsesAsDer(decoded)) return 'a base64 DER key or certificate';
  }
  return undefined;
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
