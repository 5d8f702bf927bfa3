/**
 * Verification of a {@link Jwt}: the size and shape of the token, its
 * header (allowed algorithm, no `crit`/`b64`, a bounded `kid`; parsed
 * headers are cached), the key (static or from the JWKS), the signature,
 * then the claims (`exp` required, `nbf`, `iat`, `iss`, `aud`, `jti`), and
 * the denylist. Verified claims are frozen and cached until their `exp`
 * (bounded by count and size); the denylist is still asked on a cache hit.
 *
 * @module
 */
import type { KeyObject } from 'node:crypto';
import type { JwtDenylistAdapter } from '../contracts/jwt-denylist.js';
import {
  JwtAlgorithmError,
  JwtClaimMismatchError,
  JwtClaimMissingError,
  JwtExpiredError,
  JwtInvalidSignatureError,
  JwtMalformedError,
  JwtNotYetValidError,
  JwtRevokedError,
  JwtTooLargeError,
  JwtUnsupportedHeaderError,
} from '../errors.js';
import { LruMap } from '../internal/lru.js';
import { isWellFormed } from '../internal/validate.js';
import { type Clock, systemClock } from '../types.js';
import { type JwtAlgorithm, verifyBytes } from './jwt-algorithms.js';
import type { JwtClaims } from './jwt-claims.js';
import { canonicalTail, decodeJsonObject, deepFreeze, TOKEN_SHAPE } from './jwt-compact.js';
import { type JwtKeySet, staticKeyFor } from './jwt-key-set.js';

interface ParsedHeader {
  alg: JwtAlgorithm;
  kid: string | undefined;
}

const HEADER_CACHE_SIZE = 64;

/** @internal What a {@link JwtVerifier} needs, checked by the caller. */
export interface JwtVerifierSettings {
  keys: JwtKeySet;
  issuers: readonly string[] | undefined;
  audiences: readonly string[] | undefined;
  toleranceMs: number;
  maxTokenBytes: number;
  /** 0 turns the verified-token cache off. */
  cacheMaxEntries: number;
  cacheMaxBytes: number;
  denylist: JwtDenylistAdapter | undefined;
  /** Time source of `exp`/`nbf` checks and of the verified-token cache. */
  clock: Clock;
}

/**
 * Verifies compact JWS strings against prepared keys.
 *
 * @internal
 */
export class JwtVerifier {
  readonly #keys: JwtKeySet;
  readonly #issuers: readonly string[] | undefined;
  readonly #audiences: readonly string[] | undefined;
  readonly #toleranceMs: number;
  readonly #maxTokenBytes: number;
  readonly #cache: LruMap<string, JwtClaims> | undefined;
  readonly #headers = new Map<string, ParsedHeader>();
  readonly #denylist: JwtDenylistAdapter | undefined;
  readonly #now: () => number;

  constructor(settings: JwtVerifierSettings) {
    this.#keys = settings.keys;
    this.#issuers = settings.issuers;
    this.#audiences = settings.audiences;
    this.#toleranceMs = settings.toleranceMs;
    this.#maxTokenBytes = settings.maxTokenBytes;
    this.#denylist = settings.denylist;
    const clock = settings.clock;
    // The system clock's now() is Date.now: read it directly on this hot path.
    this.#now = clock === systemClock ? Date.now : () => clock.now();
    this.#cache =
      settings.cacheMaxEntries === 0
        ? undefined
        : new LruMap<string, JwtClaims>({
            maxEntries: settings.cacheMaxEntries,
            maxSize: settings.cacheMaxBytes,
            sizeOf: (_claims, token) => token.length * 2 + 128,
            clock,
          });
  }

  /** The verified claims of `token`, or a rejection with a typed {@link JwtError}. */
  verify(token: string): Promise<Readonly<JwtClaims>> {
    if (this.#denylist === undefined) {
      // Nothing to wait for when the key is at hand (static keys, or a JWKS
      // already loaded and fresh): one settled promise, no async frame.
      try {
        const claims =
          this.#keys.jwks === undefined ? this.verifyStatic(token) : this.#verifyWithLoadedJwks(token);
        if (claims !== undefined) return Promise.resolve(claims);
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return this.#verifyAsync(token);
  }

  /** Static keys, no denylist: the claims, synchronously. */
  verifyStatic(token: string): Readonly<JwtClaims> {
    const cached = this.#cacheHit(token);
    if (cached !== undefined) return cached;
    this.#checkSize(token);
    const dot1 = token.indexOf('.');
    const dot2 = token.indexOf('.', dot1 + 1);
    const header = this.#header(token.slice(0, dot1));
    return this.#finish(token, dot1, dot2, header, staticKeyFor(this.#keys, header.alg, header.kid));
  }

  /** Drops the verified-token cache. */
  clear(): void {
    this.#cache?.clear();
  }

  async #verifyAsync(token: string): Promise<Readonly<JwtClaims>> {
    const cached = this.#cacheHit(token);
    if (cached !== undefined) {
      if (this.#denylist !== undefined) await this.#checkRevoked(cached);
      return cached;
    }
    this.#checkSize(token);
    const dot1 = token.indexOf('.');
    const dot2 = token.indexOf('.', dot1 + 1);
    const header = this.#header(token.slice(0, dot1));
    const key =
      this.#keys.jwks !== undefined
        ? await this.#keys.jwks.getKey(header.kid, header.alg)
        : staticKeyFor(this.#keys, header.alg, header.kid);
    const claims = this.#finish(token, dot1, dot2, header, key);
    if (this.#denylist !== undefined) await this.#checkRevoked(claims);
    return claims;
  }

  /** JWKS without a denylist: the claims, or undefined when the key set must be (re)fetched first. */
  #verifyWithLoadedJwks(token: string): Readonly<JwtClaims> | undefined {
    const cached = this.#cacheHit(token);
    if (cached !== undefined) return cached;
    this.#checkSize(token);
    const dot1 = token.indexOf('.');
    const dot2 = token.indexOf('.', dot1 + 1);
    const header = this.#header(token.slice(0, dot1));
    const key = this.#keys.jwks!.peekKey(header.kid, header.alg);
    return key === undefined ? undefined : this.#finish(token, dot1, dot2, header, key);
  }

  #cacheHit(token: string): JwtClaims | undefined {
    return typeof token === 'string' && this.#cache !== undefined ? this.#cache.get(token) : undefined;
  }

  #checkSize(token: string): void {
    if (typeof token !== 'string') throw new JwtMalformedError('token must be a string');
    if (token.length > this.#maxTokenBytes) {
      throw new JwtTooLargeError(`token is longer than ${this.#maxTokenBytes} bytes`, {
        maxBytes: this.#maxTokenBytes,
      });
    }
    if (!TOKEN_SHAPE.test(token))
      throw new JwtMalformedError('token is not a compact JWS (three base64url parts)');
  }

  async #checkRevoked(claims: JwtClaims): Promise<void> {
    if (
      this.#denylist !== undefined &&
      typeof claims.jti === 'string' &&
      (await this.#denylist.has(claims.jti))
    ) {
      throw new JwtRevokedError('token has been revoked');
    }
  }

  #header(part: string): ParsedHeader {
    const known = this.#headers.get(part);
    if (known !== undefined) return known;
    const raw = decodeJsonObject(part, 'header');
    if (!this.#keys.allowed.has(raw.alg as JwtAlgorithm)) {
      throw new JwtAlgorithmError(
        typeof raw.alg === 'string' && raw.alg.length <= 16
          ? `algorithm "${raw.alg.replace(/[^A-Za-z0-9]/g, '?')}" is not allowed`
          : 'algorithm is missing or not allowed',
      );
    }
    if (raw.crit !== undefined) throw new JwtUnsupportedHeaderError('token header has a "crit" parameter');
    if (raw.b64 !== undefined) throw new JwtUnsupportedHeaderError('token header has a "b64" parameter');
    if (
      raw.kid !== undefined &&
      (typeof raw.kid !== 'string' || raw.kid.length === 0 || raw.kid.length > 256)
    ) {
      throw new JwtMalformedError('token header "kid" must be a string of 1 to 256 characters');
    }
    const header: ParsedHeader = { alg: raw.alg as JwtAlgorithm, kid: raw.kid as string | undefined };
    if (this.#headers.size >= HEADER_CACHE_SIZE) this.#headers.clear();
    this.#headers.set(part, header);
    return header;
  }

  #finish(token: string, dot1: number, dot2: number, header: ParsedHeader, key: KeyObject): JwtClaims {
    const signature = token.slice(dot2 + 1);
    if (signature.length === 0 || signature.length % 4 === 1) {
      throw new JwtInvalidSignatureError('token signature is missing or not base64url');
    }
    if (!canonicalTail(signature)) {
      throw new JwtMalformedError('token signature is not canonical base64url (stray trailing bits)');
    }
    const input = token.slice(0, dot2);
    if (!verifyBytes(header.alg, key, input, Buffer.from(signature, 'base64url'))) {
      throw new JwtInvalidSignatureError('token signature is invalid');
    }
    const claims = decodeJsonObject(token.slice(dot1 + 1, dot2), 'payload') as JwtClaims;
    const nowMs = this.#now();
    const exp = claims.exp;
    if (exp === undefined) throw new JwtClaimMissingError('token has no "exp" claim', { claim: 'exp' });
    if (typeof exp !== 'number' || !Number.isFinite(exp)) {
      throw new JwtClaimMissingError('token "exp" is not a number', { claim: 'exp' });
    }
    const expiresAtMs = exp * 1000 + this.#toleranceMs;
    if (expiresAtMs <= nowMs) throw new JwtExpiredError('token has expired');
    if (claims.nbf !== undefined) {
      if (typeof claims.nbf !== 'number' || !Number.isFinite(claims.nbf)) {
        throw new JwtClaimMissingError('token "nbf" is not a number', { claim: 'nbf' });
      }
      if (claims.nbf * 1000 - this.#toleranceMs > nowMs)
        throw new JwtNotYetValidError('token is not valid yet');
    }
    if (claims.iat !== undefined && (typeof claims.iat !== 'number' || !Number.isFinite(claims.iat))) {
      throw new JwtClaimMissingError('token "iat" is not a number', { claim: 'iat' });
    }
    if (this.#issuers !== undefined) {
      if (typeof claims.iss !== 'string')
        throw new JwtClaimMissingError('token has no "iss" claim', { claim: 'iss' });
      if (!this.#issuers.includes(claims.iss)) {
        throw new JwtClaimMismatchError('token "iss" is not an accepted issuer', { claim: 'iss' });
      }
    }
    if (this.#audiences !== undefined) {
      const aud = claims.aud;
      if (aud === undefined) throw new JwtClaimMissingError('token has no "aud" claim', { claim: 'aud' });
      const list = Array.isArray(aud) ? aud : [aud];
      if (!list.some((a) => typeof a === 'string' && this.#audiences!.includes(a))) {
        throw new JwtClaimMismatchError('token "aud" is not an accepted audience', { claim: 'aud' });
      }
    }
    if (
      claims.jti !== undefined &&
      (typeof claims.jti !== 'string' || claims.jti.length > 256 || !isWellFormed(claims.jti))
    ) {
      // A lone surrogate has no UTF-8 form: such a token could not be revoked on its own.
      throw new JwtClaimMissingError(
        'token "jti" must be a string of at most 256 characters, no lone surrogate',
        {
          claim: 'jti',
        },
      );
    }
    deepFreeze(claims);
    this.#cache?.set(token, claims, Math.max(1, Math.floor(expiresAtMs - nowMs)));
    return claims;
  }
}
