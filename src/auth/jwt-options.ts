import type { KeyObject } from 'node:crypto';
import type { JwtDenylistAdapter } from '../contracts/jwt-denylist.js';
import { InvalidOptionsError } from '../errors.js';
import { clockOption, optionsChecker } from '../internal/validate.js';
import type { BaseOptions, Clock } from '../types.js';
import type { JwtAlgorithm } from './jwt-algorithms.js';
import type { JwtKeyInput } from './jwt-keys.js';

/**
 * A key kept for verification only, found by the token's `kid` (key rotation).
 *
 * @example
 * ```ts
 * createJwt({ secret: current, kid: 'k2', verificationKeys: [{ kid: 'k1', secret: previous }] });
 * ```
 */
export interface JwtVerificationKey {
  /** The `kid` tokens signed with this key carry. */
  kid: string;
  /** An HMAC secret (at least 32 bytes). */
  secret?: string | Uint8Array | KeyObject;
  /** A public key (or a private key, whose public half is used). */
  publicKey?: JwtKeyInput;
}

/**
 * Options of {@link createJwt}. Give exactly one key source: `secret`,
 * `privateKey` (+ optional `publicKey`), `publicKey` alone (verify only), or
 * `jwksUrl` (verify only).
 *
 * It has the `clock` and `logger` of {@link BaseOptions} (the logger hears
 * a failed background JWKS refresh, which no caller sees). Not its
 * `adapter`: the store a Jwt uses, the revocation list, is `denylist`
 * (optional: without one there is no revocation, and no memory default is
 * made), never created or closed by the Jwt.
 *
 * @example
 * ```ts
 * const options: JwtOptions = { secret: process.env.JWT_SECRET!, issuer: 'auth', audience: 'api', expiresInMs: 900_000 };
 * ```
 */
export interface JwtOptions extends Omit<BaseOptions<JwtDenylistAdapter>, 'adapter'> {
  /** HMAC secret; at least 32 bytes (48 for HS384, 64 for HS512). */
  secret?: string | Uint8Array | KeyObject;
  /** Signing key (RSA ≥ 2048 bits, EC P-256/384/521 or Ed25519). Its public half verifies. */
  privateKey?: JwtKeyInput;
  /** Verification key, when it is not derived from `privateKey`. */
  publicKey?: JwtKeyInput;
  /** A remote JSON Web Key Set to verify against (verify only). */
  jwksUrl?: string | URL;
  /** `kid` written into the header of signed tokens. @default undefined (no kid) */
  kid?: string;
  /** Older keys still accepted, chosen by the token's `kid` (rotation). @default [] */
  verificationKeys?: JwtVerificationKey[];
  /**
   * Algorithms accepted (the first one signs). Must fit the key type.
   * @default the key's own: HS256 for a secret, RS256 for RSA, ES256/384/512 by curve, EdDSA for Ed25519;
   * RS256, PS256, ES256, ES384, EdDSA for a JWKS
   */
  algorithms?: JwtAlgorithm[];
  /** `iss` written when signing and required when verifying (any of a list). @default undefined (not checked) */
  issuer?: string | string[];
  /** `aud` written when signing and required when verifying (any of a list). @default undefined (not checked) */
  audience?: string | string[];
  /** Lifetime of signed tokens, ms. @default 900_000 (15 min) */
  expiresInMs?: number;
  /** Allowed clock skew for `exp` and `nbf`, ms. @default 5_000 */
  clockToleranceMs?: number;
  /** Tokens longer than this are refused before parsing, bytes. @default 8_192 */
  maxTokenBytes?: number;
  /** Verified tokens remembered until their `exp` (0 disables the cache). @default 10_000 */
  cacheMaxEntries?: number;
  /** Total size of cached tokens, bytes (roughly twice the token length each). @default 16_777_216 */
  cacheMaxBytes?: number;
  /** Revoked `jti`s, checked on every verify (cache hits included). @default undefined (no revocation) */
  denylist?: JwtDenylistAdapter;
  /**
   * JWKS: least time between refetches for unknown `kid`s, ms; while no key
   * set was ever loaded, between failed loads (at most 5 s). @default 30_000
   */
  jwksCooldownMs?: number;
  /** JWKS: refresh (in the background) once the set is this old, ms. @default 600_000 */
  jwksMaxAgeMs?: number;
  /** JWKS: time limit of one fetch, ms. @default 5_000 */
  jwksTimeoutMs?: number;
  /** Time source (tests pass a fake clock), as in every primitive. @default systemClock */
  clock?: Clock;
  /**
   * Time source, ms.
   * @deprecated use `clock` (a {@link Clock}); `now` still works. Give one of them.
   * @default Date.now
   */
  now?: () => number;
}

/**
 * Defaults of {@link JwtOptions}.
 *
 * @example
 * ```ts
 * JWT_DEFAULTS.maxTokenBytes; // 8192
 * ```
 */
export const JWT_DEFAULTS = {
  /** 15 minutes. */
  expiresInMs: 900_000,
  /** 5 seconds. */
  clockToleranceMs: 5_000,
  /** 8 KiB. */
  maxTokenBytes: 8_192,
  /** Verified tokens cached. */
  cacheMaxEntries: 10_000,
  /** 16 MiB. */
  cacheMaxBytes: 16_777_216,
  /** 30 seconds. */
  jwksCooldownMs: 30_000,
  /** 10 minutes. */
  jwksMaxAgeMs: 600_000,
  /** 5 seconds. */
  jwksTimeoutMs: 5_000,
  /** Asymmetric algorithms accepted from a JWKS. */
  jwksAlgorithms: ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'] as readonly JwtAlgorithm[],
} as const;

/** @internal Refuses unknown keys of {@link JwtOptions} (`expiresIn` → `expiresInMs`). */
export const checkJwtOptions = optionsChecker({
  where: 'createJwt options',
  keys: [
    'secret',
    'privateKey',
    'publicKey',
    'jwksUrl',
    'kid',
    'verificationKeys',
    'algorithms',
    'issuer',
    'audience',
    'expiresInMs',
    'clockToleranceMs',
    'maxTokenBytes',
    'cacheMaxEntries',
    'cacheMaxBytes',
    'denylist',
    'jwksCooldownMs',
    'jwksMaxAgeMs',
    'jwksTimeoutMs',
    'clock',
    'logger',
    'now',
  ],
  hints: {
    expiresIn: 'expiresInMs',
    expires: 'expiresInMs',
    ttl: 'expiresInMs',
    ttlMs: 'expiresInMs',
    maxAge: 'expiresInMs',
    algorithm: 'algorithms',
    keyid: 'kid',
    keyId: 'kid',
    iss: 'issuer',
    aud: 'audience',
    secretOrPrivateKey: 'secret',
    secretOrPublicKey: 'secret',
    jwks: 'jwksUrl',
    jwksUri: 'jwksUrl',
    clockTolerance: 'clockToleranceMs',
    maxTokenLength: 'maxTokenBytes',
  },
});

/** @internal Refuses unknown keys of one {@link JwtVerificationKey}. */
export const checkVerificationKey = optionsChecker({
  where: 'createJwt verificationKeys[] entry',
  keys: ['kid', 'secret', 'publicKey'],
  hints: { keyid: 'kid', keyId: 'kid', key: 'publicKey', privateKey: 'publicKey' },
});

/**
 * @internal Refuses option values of the wrong kind before any is used, so
 * that a wrong call fails at construction with the option named, never
 * later with a TypeError.
 */
export function checkJwtOptionTypes(options: JwtOptions): void {
  const bad = (option: string, rule: string): never => {
    throw new InvalidOptionsError(`${option} must be ${rule}`, { option });
  };
  const { algorithms, jwksUrl, denylist, now, cacheMaxBytes, verificationKeys } = options;
  if (
    algorithms !== undefined &&
    (!Array.isArray(algorithms) || algorithms.length === 0 || algorithms.some((a) => typeof a !== 'string'))
  ) {
    bad('algorithms', 'a non-empty list of algorithm names');
  }
  if (jwksUrl !== undefined && typeof jwksUrl !== 'string' && !(jwksUrl instanceof URL)) {
    bad('jwksUrl', 'a string or URL');
  }
  if (
    denylist !== undefined &&
    (typeof denylist !== 'object' ||
      denylist === null ||
      typeof denylist.add !== 'function' ||
      typeof denylist.has !== 'function' ||
      typeof denylist.close !== 'function')
  ) {
    bad('denylist', 'a JwtDenylistAdapter (memoryJwtDenylist(), redisJwtDenylist({ connection }))');
  }
  if (now !== undefined && typeof now !== 'function') bad('now', 'a function returning epoch ms');
  const logger = options.logger as unknown;
  if (logger !== undefined && (typeof logger !== 'object' || logger === null)) {
    bad('logger', 'an object with debug/info/warn/error methods');
  }
  clockOption(options.clock);
  if (now !== undefined && options.clock !== undefined)
    bad('now', 'left out when clock is given (give one time source)');
  if (cacheMaxBytes !== undefined && (!Number.isSafeInteger(cacheMaxBytes) || cacheMaxBytes < 1)) {
    bad('cacheMaxBytes', 'a positive integer');
  }
  if (verificationKeys !== undefined && !Array.isArray(verificationKeys)) {
    bad('verificationKeys', 'a list of { kid, secret | publicKey }');
  }
}
