/**
 * Signing of a {@link Jwt}: checks the caller's claims, adds the
 * registered ones (`iat`, `exp`, `nbf`, `iss`, `aud`, `jti`) as JSON text,
 * and signs with the key prepared once. The protected header is encoded
 * once per instance, as fast-jwt does: it never changes per token.
 *
 * @module
 */
import { InvalidArgumentError, PayloadTooLargeError } from '../errors.js';
import { durationArgument } from '../internal/validate.js';
import { type Clock, systemClock } from '../types.js';
import { signerFor } from './jwt-algorithms.js';
import {
  checkClaimValues,
  checkRegisteredClaims,
  checkSignOptions,
  claimsJson,
  type JwtClaims,
} from './jwt-claims.js';
import { randomTokenId } from './jwt-id.js';
import type { SigningKey } from './jwt-key-set.js';

/**
 * Options of {@link Jwt.sign}.
 *
 * @example
 * ```ts
 * await jwt.sign({ sub: 'u1' }, { expiresInMs: 60_000, notBeforeMs: 0 } satisfies JwtSignOptions);
 * ```
 */
export interface JwtSignOptions {
  /** Lifetime of this token, ms. @default the `expiresInMs` option */
  expiresInMs?: number;
  /** Not valid before now + this, ms. @default undefined (valid at once) */
  notBeforeMs?: number;
}

/** @internal What a {@link JwtSigner} needs, checked by the caller. */
export interface JwtSignerSettings {
  signing: SigningKey | undefined;
  kid: string | undefined;
  issuers: readonly string[] | undefined;
  audiences: readonly string[] | undefined;
  expiresInMs: number;
  maxTokenBytes: number;
  /** Time source of `iat`, `exp` and `nbf`. */
  clock: Clock;
}

/** A number as JSON writes it (`null` for NaN and ±Infinity). */
function jsonNumber(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

/**
 * Signs claims into compact JWS strings with one prepared key.
 *
 * @internal
 */
export class JwtSigner {
  /** Signs `header.payload` into base64url with the key prepared once; undefined for verify-only. */
  readonly #signInput: ((input: string) => string) | undefined;
  /** The encoded protected header and its dot: the same for every token this instance signs. */
  readonly #headerPrefix: string;
  /** `,"iss":<first issuer>` as JSON text, when issuers are configured. */
  readonly #issuerMember: string | undefined;
  /** `,"aud":<first audience>` as JSON text, when audiences are configured. */
  readonly #audienceMember: string | undefined;
  readonly #expiresInMs: number;
  readonly #maxTokenBytes: number;
  readonly #now: () => number;

  constructor(settings: JwtSignerSettings) {
    const signing = settings.signing;
    this.#signInput = signing === undefined ? undefined : signerFor(signing.alg, signing.key);
    this.#expiresInMs = settings.expiresInMs;
    this.#maxTokenBytes = settings.maxTokenBytes;
    const clock = settings.clock;
    this.#now = clock === systemClock ? Date.now : () => clock.now();
    this.#issuerMember = settings.issuers && `,"iss":${JSON.stringify(settings.issuers[0])}`;
    this.#audienceMember = settings.audiences && `,"aud":${JSON.stringify(settings.audiences[0])}`;
    // Encoded once, as fast-jwt does: the header never changes per token.
    const header: Record<string, string> = { alg: signing?.alg ?? '', typ: 'JWT' };
    if (settings.kid !== undefined) header.kid = settings.kid;
    this.#headerPrefix =
      signing === undefined ? '' : `${Buffer.from(JSON.stringify(header)).toString('base64url')}.`;
  }

  /** The compact JWS of `claims` (see {@link Jwt.sign} for the rules). */
  sign(claims: JwtClaims, options: JwtSignOptions): string {
    checkSignOptions(options);
    const signInput = this.#signInput;
    if (signInput === undefined) {
      throw new InvalidArgumentError('this instance has no signing key (give secret or privateKey)', {
        argument: 'claims',
      });
    }
    if (
      typeof claims !== 'object' ||
      claims === null ||
      Array.isArray(claims) ||
      (Object.getPrototypeOf(claims) !== Object.prototype && Object.getPrototypeOf(claims) !== null)
    ) {
      throw new InvalidArgumentError('claims must be a plain object', { argument: 'claims' });
    }
    if (claims.exp !== undefined || claims.iat !== undefined) {
      throw new InvalidArgumentError(
        `claims.${claims.exp !== undefined ? 'exp' : 'iat'} is set by sign: use expiresInMs`,
        { argument: 'claims' },
      );
    }
    checkRegisteredClaims(claims);
    checkClaimValues(claims);
    const expiresInMs =
      options.expiresInMs === undefined
        ? this.#expiresInMs
        : durationArgument('expiresInMs', options.expiresInMs);
    const nowMs = this.#now();
    // The members sign adds are written as JSON text after the caller's
    // claims (same members, same order as spreading them into a new object,
    // which cost more than the rest of an HS256 sign together).
    let members = `,"iat":${jsonNumber(Math.floor(nowMs / 1000))},"exp":${jsonNumber(Math.floor((nowMs + expiresInMs) / 1000))}`;
    let body: JwtClaims = claims;
    if (options.notBeforeMs !== undefined) {
      const nbf = Math.floor((nowMs + durationArgument('notBeforeMs', options.notBeforeMs, 0)) / 1000);
      members += `,"nbf":${jsonNumber(nbf)}`;
      if (claims.nbf !== undefined) body = { ...claims, nbf: undefined };
    }
    if (this.#issuerMember !== undefined && claims.iss === undefined) members += this.#issuerMember;
    if (this.#audienceMember !== undefined && claims.aud === undefined) members += this.#audienceMember;
    if (claims.jti === undefined) members += `,"jti":"${randomTokenId()}"`;
    const input = this.#headerPrefix + Buffer.from(claimsJson(body, members)).toString('base64url');
    const token = `${input}.${signInput(input)}`;
    if (token.length > this.#maxTokenBytes) {
      // A token this instance would refuse to verify is not worth handing out.
      throw new PayloadTooLargeError(
        `the signed token would be ${token.length} bytes, over maxTokenBytes (${this.#maxTokenBytes})`,
        { bytes: token.length, maxBytes: this.#maxTokenBytes },
      );
    }
    return token;
  }
}
