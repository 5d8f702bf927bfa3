import type { JwtDenylistAdapter } from '../contracts/jwt-denylist.js';
import {
  InvalidArgumentError,
  InvalidOptionsError,
  JwtClaimMissingError,
  JwtRevokedError,
} from '../errors.js';
import { Lifecycle } from '../internal/lifecycle.js';
import { durationOption, isWellFormed } from '../internal/validate.js';
import { type Clock, systemClock } from '../types.js';
import type { JwtAlgorithm } from './jwt-algorithms.js';
import { type JwtClaims, refuseJsonwebtokenShape } from './jwt-claims.js';
import { type JwtKeySet, prepareJwtKeys } from './jwt-key-set.js';
import { checkJwtOptions, checkJwtOptionTypes, JWT_DEFAULTS, type JwtOptions } from './jwt-options.js';
import { JwtSigner, type JwtSignOptions } from './jwt-signer.js';
import { JwtVerifier } from './jwt-verifier.js';

function asList(value: string | string[] | undefined, option: string): string[] | undefined {
  if (value === undefined) return undefined;
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || list.some((v) => typeof v !== 'string' || v.length === 0)) {
    throw new InvalidOptionsError(`${option} must be a non-empty string or list of strings`, { option });
  }
  return [...list];
}

/**
 * Signs and verifies JSON Web Tokens with safe defaults:
 *
 * - the accepted algorithms are pinned to the key type: no `none`, no HMAC
 *   with a public key, no RSA/EC confusion;
 * - `exp` is required; `iss` and `aud` are checked when configured; `nbf` is
 *   honoured; HMAC secrets shorter than the hash are refused;
 * - tokens over `maxTokenBytes` are refused before parsing; `crit` and
 *   `b64` headers are refused; embedded keys (`jwk`, `jku`, `x5u`, `x5c`)
 *   are never used;
 * - keys are imported once; verification runs on `node:crypto`; verified
 *   tokens are cached (bounded by count, size and each token's `exp`), and
 *   the denylist is still asked on a cache hit.
 *
 * Every failure is a typed {@link JwtError} subclass whose message never
 * holds the token or a key.
 *
 * @example
 * ```ts
 * const jwt = createJwt({ secret: process.env.JWT_SECRET!, issuer: 'auth.example', audience: 'api' });
 * const token = await jwt.sign({ sub: user.id, role: 'admin' });
 * const claims = await jwt.verify(token); // { sub, role, iat, exp, iss, aud, jti }
 * ```
 */
export class Jwt {
  readonly #keys: JwtKeySet;
  readonly #signer: JwtSigner;
  readonly #verifier: JwtVerifier;
  readonly #denylist: JwtDenylistAdapter | undefined;
  readonly #toleranceMs: number;
  /** Static keys and no denylist: `verifySync` can answer. */
  readonly #syncVerify: boolean;
  readonly #life = new Lifecycle('Jwt');

  constructor(options: JwtOptions) {
    if (typeof options === 'string') {
      throw new InvalidOptionsError('createJwt takes options: createJwt({ secret })', { option: 'secret' });
    }
    checkJwtOptions(options);
    if (typeof options !== 'object' || options === null) {
      throw new InvalidOptionsError('options are required', { option: 'secret' });
    }
    checkJwtOptionTypes(options);
    const sources = [
      options.secret !== undefined,
      options.privateKey !== undefined || options.publicKey !== undefined,
      options.jwksUrl !== undefined,
    ].filter(Boolean).length;
    if (sources !== 1) {
      throw new InvalidOptionsError('give exactly one of secret, privateKey/publicKey or jwksUrl', {
        option: 'secret',
      });
    }
    // `now` is the deprecated form of `clock` (both at once is refused): it becomes a clock.
    const legacyNow = options.now;
    const clock: Clock =
      options.clock ?? (legacyNow === undefined ? systemClock : { now: legacyNow, monotonic: legacyNow });
    const expiresInMs = durationOption('expiresInMs', options.expiresInMs ?? JWT_DEFAULTS.expiresInMs);
    this.#toleranceMs = durationOption(
      'clockToleranceMs',
      options.clockToleranceMs ?? JWT_DEFAULTS.clockToleranceMs,
      0,
    );
    const maxTokenBytes = options.maxTokenBytes ?? JWT_DEFAULTS.maxTokenBytes;
    if (!Number.isInteger(maxTokenBytes) || maxTokenBytes < 64 || maxTokenBytes > 1_048_576) {
      throw new InvalidOptionsError('maxTokenBytes must be an integer in [64, 1048576]', {
        option: 'maxTokenBytes',
      });
    }
    const issuers = asList(options.issuer, 'issuer');
    const audiences = asList(options.audience, 'audience');
    if (
      options.kid !== undefined &&
      (typeof options.kid !== 'string' || options.kid.length === 0 || options.kid.length > 256)
    ) {
      throw new InvalidOptionsError('kid must be a string of 1 to 256 characters', { option: 'kid' });
    }
    this.#denylist = options.denylist;
    this.#keys = prepareJwtKeys(options, clock, options.kid);
    this.#signer = new JwtSigner({
      signing: this.#keys.signing,
      kid: options.kid,
      issuers,
      audiences,
      expiresInMs,
      maxTokenBytes,
      clock,
    });
    const cacheMaxEntries = options.cacheMaxEntries ?? JWT_DEFAULTS.cacheMaxEntries;
    if (!Number.isInteger(cacheMaxEntries) || cacheMaxEntries < 0) {
      throw new InvalidOptionsError('cacheMaxEntries must be an integer >= 0', { option: 'cacheMaxEntries' });
    }
    const cacheMaxBytes = options.cacheMaxBytes ?? JWT_DEFAULTS.cacheMaxBytes;
    if (!(cacheMaxBytes > 0))
      throw new InvalidOptionsError('cacheMaxBytes must be > 0', { option: 'cacheMaxBytes' });
    this.#syncVerify = this.#keys.jwks === undefined && this.#denylist === undefined;
    this.#verifier = new JwtVerifier({
      keys: this.#keys,
      issuers,
      audiences,
      toleranceMs: this.#toleranceMs,
      maxTokenBytes,
      cacheMaxEntries,
      cacheMaxBytes,
      denylist: this.#denylist,
      clock,
    });
  }

  /** The algorithms this instance accepts. */
  get algorithms(): readonly JwtAlgorithm[] {
    return [...this.#keys.allowed];
  }

  /**
   * Signs `claims` into a compact JWS. Adds `iat`, `exp` (now +
   * `expiresInMs`), `iss` and `aud` (the first configured), and a random
   * `jti` unless one is given. `exp`/`iat` in `claims` are refused: use
   * `expiresInMs`.
   *
   * Claims must be plain JSON: functions, symbols, BigInt, NaN/Infinity,
   * Dates, Maps, Sets and class instances are refused with
   * `SerializationError` (JSON would drop or change them); a token longer
   * than `maxTokenBytes` with `PayloadTooLargeError`. The key is the
   * instance's: jsonwebtoken's `sign(payload, secret, { expiresIn })` is
   * refused with the fix (`{ expiresInMs }`).
   *
   * @example
   * ```ts
   * const token = await jwt.sign({ sub: 'user-1', roles: ['admin'] }, { expiresInMs: 60_000 });
   * ```
   */
  sign(claims?: JwtClaims, options?: JwtSignOptions): Promise<string>;
  sign(claims: JwtClaims = {}, options: JwtSignOptions = {}, ...extra: unknown[]): Promise<string> {
    // The jsonwebtoken shape throws at once: code written for its
    // synchronous sign must fail, not hand a pending promise on as a token.
    refuseJsonwebtokenShape('sign', options, extra);
    try {
      this.#life.assertOpen();
      return Promise.resolve(this.#signer.sign(claims, options));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Same as {@link sign}, synchronously.
   *
   * @example
   * ```ts
   * const token = jwt.signSync({ sub: 'user-1' });
   * ```
   */
  signSync(claims?: JwtClaims, options?: JwtSignOptions): string;
  signSync(claims: JwtClaims = {}, options: JwtSignOptions = {}, ...extra: unknown[]): string {
    refuseJsonwebtokenShape('sign', options, extra);
    this.#life.assertOpen();
    return this.#signer.sign(claims, options);
  }

  /**
   * Verifies `token` and returns its claims (frozen). Throws a typed
   * {@link JwtError}: malformed, too large, algorithm, unsupported header,
   * invalid signature, expired, not yet valid, claim missing/mismatch,
   * revoked, no matching JWKS key.
   *
   * @example
   * ```ts
   * try {
   *   const { sub } = await jwt.verify(token);
   * } catch (err) {
   *   if (isScaleoutError(err, 'ERR_JWT_EXPIRED')) return refresh();
   *   throw err;
   * }
   * ```
   */
  verify(token: string): Promise<Readonly<JwtClaims>>;
  verify(token: string, ...extra: unknown[]): Promise<Readonly<JwtClaims>> {
    // jsonwebtoken's verify(token, secret) is synchronous: that shape throws
    // at once, so code written for it (a try/catch around a call that is not
    // awaited) refuses the request instead of taking a pending promise for
    // claims and letting everyone in.
    refuseJsonwebtokenShape('verify', undefined, extra);
    if (this.#life.closed) return Promise.reject(this.#life.closedError());
    return this.#verifier.verify(token);
  }

  /**
   * Same as {@link verify}, synchronously: for static keys without a
   * denylist (throws {@link InvalidArgumentError} otherwise).
   *
   * @example
   * ```ts
   * const claims = jwt.verifySync(token);
   * ```
   */
  verifySync(token: string): Readonly<JwtClaims>;
  verifySync(token: string, ...extra: unknown[]): Readonly<JwtClaims> {
    refuseJsonwebtokenShape('verify', undefined, extra);
    this.#life.assertOpen();
    if (!this.#syncVerify) {
      throw new InvalidArgumentError('verifySync needs static keys and no denylist: use verify', {
        argument: 'token',
      });
    }
    return this.#verifier.verifyStatic(token);
  }

  /**
   * Revokes a token until its `exp`: later `verify` calls throw
   * {@link JwtRevokedError}. The token must verify (a forged token revokes
   * nothing) and carry a `jti`. Needs the `denylist` option.
   *
   * @example
   * ```ts
   * await jwt.revoke(token); // logout
   * ```
   */
  async revoke(token: string): Promise<void> {
    this.#life.assertOpen();
    const denylist = this.#requireDenylist();
    let claims: Readonly<JwtClaims>;
    try {
      claims = await this.verify(token);
    } catch (err) {
      if (err instanceof JwtRevokedError) return;
      throw err;
    }
    if (typeof claims.jti !== 'string')
      throw new JwtClaimMissingError('token has no jti to revoke', { claim: 'jti' });
    await denylist.add(claims.jti, (claims.exp as number) * 1000 + this.#toleranceMs);
  }

  /**
   * Revokes a token id directly until `expiresAtMs` (epoch ms).
   *
   * @example
   * ```ts
   * await jwt.revokeJti(claims.jti!, claims.exp! * 1000);
   * ```
   */
  async revokeJti(jti: string, expiresAtMs: number): Promise<void> {
    this.#life.assertOpen();
    const denylist = this.#requireDenylist();
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256 || !isWellFormed(jti)) {
      throw new InvalidArgumentError('jti must be a string of 1 to 256 characters, no lone surrogate', {
        argument: 'jti',
      });
    }
    if (!Number.isFinite(expiresAtMs)) {
      throw new InvalidArgumentError('expiresAtMs must be a finite number', { argument: 'expiresAtMs' });
    }
    await denylist.add(jti, expiresAtMs + this.#toleranceMs);
  }

  /**
   * Drops the verified-token cache and stops JWKS fetches in flight. The
   * denylist adapter is the caller's: close it yourself. Idempotent (every
   * call gets the same promise); afterwards `sign`, `signSync`, `verify`,
   * `verifySync`, `revoke` and `revokeJti` fail with {@link ClosedError}
   * (`Jwt is closed`): close it after the servers that verify with it.
   *
   * @example
   * ```ts
   * await jwt.close();
   * ```
   */
  close(): Promise<void> {
    return this.#life.close(() => {
      this.#verifier.clear();
      this.#keys.jwks?.close();
    });
  }

  /** Same as {@link close}: `await using jwt = createJwt({ secret })`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #requireDenylist(): JwtDenylistAdapter {
    if (this.#denylist === undefined) {
      throw new InvalidArgumentError('revocation needs the denylist option', { argument: 'denylist' });
    }
    return this.#denylist;
  }
}

/**
 * Creates a {@link Jwt} signer/verifier. Give exactly one key source:
 * `secret` (HS256 by default, ≥ 32 bytes), `privateKey` (+ `publicKey`), a
 * `publicKey` alone, or a `jwksUrl`.
 *
 * @example
 * ```ts
 * const jwt = createJwt({ secret: process.env.JWT_SECRET!, issuer: 'https://auth.example', audience: 'orders' });
 * const token = await jwt.sign({ sub: 'user-1', role: 'admin' });
 * const claims = await jwt.verify(token);
 * ```
 */
export function createJwt(options: JwtOptions): Jwt {
  return new Jwt(options);
}
