import type { KeyObject } from 'node:crypto';
import type { JwtDenylistAdapter } from '../contracts/jwt-denylist.js';
import {
  InvalidArgumentError,
  InvalidOptionsError,
  JwksNoMatchingKeyError,
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
  PayloadTooLargeError,
} from '../errors.js';
import { LruMap } from '../internal/lru.js';
import { durationArgument, durationOption } from '../internal/validate.js';
import { assertSafePayload } from '../serializer.js';
import { ALGORITHMS, type JwtAlgorithm, signBytes, verifyBytes } from './jwt-algorithms.js';
import {
  checkClaimValues,
  checkRegisteredClaims,
  checkSignOptions,
  claimsJson,
  refuseJsonwebtokenShape,
} from './jwt-claims.js';
import { randomTokenId } from './jwt-id.js';
import { importAsymmetric, importSecret, pinAlgorithms } from './jwt-keys.js';
import {
  checkJwtOptions,
  checkJwtOptionTypes,
  checkVerificationKey,
  JWT_DEFAULTS,
  type JwtOptions,
} from './jwt-options.js';
import { RemoteJwks } from './remote-jwks.js';

/**
 * The claims of a token: the registered ones typed, anything else allowed.
 *
 * @example
 * ```ts
 * const claims: JwtClaims = { sub: 'user-1', roles: ['admin'] };
 * ```
 */
export interface JwtClaims {
  /** Issuer. */
  iss?: string;
  /**
   * Subject (usually the user id). A number (the design's `sub: user.id`)
   * is signed as a JSON number and reads back as the same number.
   */
  sub?: string | number;
  /** Audience. */
  aud?: string | string[];
  /** Expiry, seconds since the epoch. Always present on verified tokens. */
  exp?: number;
  /** Not before, seconds since the epoch. */
  nbf?: number;
  /** Issued at, seconds since the epoch. */
  iat?: number;
  /** Token id (used by revocation). */
  jti?: string;
  /** Application claims. */
  [claim: string]: unknown;
}

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

interface ParsedHeader {
  alg: JwtAlgorithm;
  kid: string | undefined;
}

interface StaticKey {
  key: KeyObject;
  algorithms: readonly JwtAlgorithm[];
}

const TOKEN_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * True when the last character of an unpadded base64url string carries no
 * stray bits: base64url spells bytes one way only, so a signature whose
 * unused trailing bits are set (a second spelling of the same bytes) is
 * refused instead of verifying as a different token string.
 */
function canonicalTail(part: string): boolean {
  const rest = part.length % 4;
  if (rest === 0) return true;
  const bits = BASE64URL.indexOf(part[part.length - 1]!);
  return rest === 2 ? (bits & 0x0f) === 0 : (bits & 0x03) === 0;
}
const HEADER_CACHE_SIZE = 64;

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    // Own keys only (Object.keys uses V8's enum cache: no per-call values array).
    const record = value as Record<string, unknown>;
    for (const k of Object.keys(record)) {
      const v = record[k];
      if (typeof v === 'object' && v !== null) deepFreeze(v);
    }
  }
  return value;
}

function decodeJsonObject(part: string, what: 'header' | 'payload'): Record<string, unknown> {
  if (part.length % 4 === 1) throw new JwtMalformedError(`token ${what} is not valid base64url`);
  const text = Buffer.from(part, 'base64url').toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // The parser's message quotes the input: never attach it.
    throw new JwtMalformedError(`token ${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new JwtMalformedError(`token ${what} is not a JSON object`);
  }
  // One scan: "proto" covers "__proto__" and "constructor.prototype"; a
  // backslash may spell either with \u escapes, which JSON.parse decodes.
  if (text.includes('proto') || text.includes('\\')) {
    try {
      assertSafePayload(value);
    } catch {
      throw new JwtMalformedError(`token ${what} carries a prototype-pollution key`);
    }
  }
  return value as Record<string, unknown>;
}

/** A number as JSON writes it (`null` for NaN and ±Infinity). */
function jsonNumber(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

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
  readonly #signing: { key: KeyObject; alg: JwtAlgorithm } | undefined;
  /** The encoded protected header and its dot: the same for every token this instance signs. */
  readonly #headerPrefix: string;
  /** `,"iss":<first issuer>` as JSON text, when issuers are configured. */
  readonly #issuerMember: string | undefined;
  /** `,"aud":<first audience>` as JSON text, when audiences are configured. */
  readonly #audienceMember: string | undefined;
  readonly #primary: StaticKey | undefined;
  readonly #byKid = new Map<string, StaticKey>();
  readonly #jwks: RemoteJwks | undefined;
  readonly #allowed: ReadonlySet<JwtAlgorithm>;
  readonly #kid: string | undefined;
  readonly #issuers: string[] | undefined;
  readonly #audiences: string[] | undefined;
  readonly #expiresInMs: number;
  readonly #toleranceMs: number;
  readonly #maxTokenBytes: number;
  readonly #cache: LruMap<string, JwtClaims> | undefined;
  readonly #headers = new Map<string, ParsedHeader>();
  readonly #denylist: JwtDenylistAdapter | undefined;
  readonly #now: () => number;

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
    this.#now = options.now ?? Date.now;
    this.#expiresInMs = durationOption('expiresInMs', options.expiresInMs ?? JWT_DEFAULTS.expiresInMs);
    this.#toleranceMs = durationOption(
      'clockToleranceMs',
      options.clockToleranceMs ?? JWT_DEFAULTS.clockToleranceMs,
      0,
    );
    this.#maxTokenBytes = options.maxTokenBytes ?? JWT_DEFAULTS.maxTokenBytes;
    if (
      !Number.isInteger(this.#maxTokenBytes) ||
      this.#maxTokenBytes < 64 ||
      this.#maxTokenBytes > 1_048_576
    ) {
      throw new InvalidOptionsError('maxTokenBytes must be an integer in [64, 1048576]', {
        option: 'maxTokenBytes',
      });
    }
    this.#issuers = asList(options.issuer, 'issuer');
    this.#audiences = asList(options.audience, 'audience');
    this.#issuerMember = this.#issuers && `,"iss":${JSON.stringify(this.#issuers[0])}`;
    this.#audienceMember = this.#audiences && `,"aud":${JSON.stringify(this.#audiences[0])}`;
    if (
      options.kid !== undefined &&
      (typeof options.kid !== 'string' || options.kid.length === 0 || options.kid.length > 256)
    ) {
      throw new InvalidOptionsError('kid must be a string of 1 to 256 characters', { option: 'kid' });
    }
    this.#kid = options.kid;
    this.#denylist = options.denylist;

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
      this.#allowed = new Set(algorithms);
      this.#jwks = new RemoteJwks(url, {
        cooldownMs: durationOption(
          'jwksCooldownMs',
          options.jwksCooldownMs ?? JWT_DEFAULTS.jwksCooldownMs,
          0,
        ),
        maxAgeMs: durationOption('jwksMaxAgeMs', options.jwksMaxAgeMs ?? JWT_DEFAULTS.jwksMaxAgeMs),
        timeoutMs: durationOption('jwksTimeoutMs', options.jwksTimeoutMs ?? JWT_DEFAULTS.jwksTimeoutMs),
        now: this.#now,
      });
    } else if (options.secret !== undefined) {
      const key = importSecret(options.secret, 'secret');
      const algorithms = pinAlgorithms(key, options.algorithms, 'secret');
      this.#primary = { key, algorithms };
      this.#signing = { key, alg: algorithms[0]! };
      this.#allowed = new Set(algorithms);
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
      this.#primary = { key: publicKey, algorithms };
      this.#signing = privateKey === undefined ? undefined : { key: privateKey, alg: algorithms[0]! };
      this.#allowed = new Set(algorithms);
    }
    const allowed = new Set(this.#allowed);
    for (const extra of options.verificationKeys ?? []) {
      checkVerificationKey(extra);
      if (typeof extra?.kid !== 'string' || extra.kid.length === 0) {
        throw new InvalidOptionsError('every verification key needs a kid', { option: 'verificationKeys' });
      }
      const key =
        extra.secret !== undefined
          ? importSecret(extra.secret, 'verificationKeys')
          : importAsymmetric(extra.publicKey as never, 'public', 'verificationKeys');
      const fitting = [...this.#allowed].filter((alg) => {
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
      this.#byKid.set(extra.kid, { key, algorithms: fitting });
    }
    if (this.#primary !== undefined && this.#kid !== undefined) this.#byKid.set(this.#kid, this.#primary);
    this.#allowed = allowed;
    // Encoded once, as fast-jwt does: the header never changes per token.
    const header: Record<string, string> = { alg: this.#signing?.alg ?? '', typ: 'JWT' };
    if (this.#kid !== undefined) header.kid = this.#kid;
    this.#headerPrefix =
      this.#signing === undefined ? '' : `${Buffer.from(JSON.stringify(header)).toString('base64url')}.`;

    const cacheMaxEntries = options.cacheMaxEntries ?? JWT_DEFAULTS.cacheMaxEntries;
    if (!Number.isInteger(cacheMaxEntries) || cacheMaxEntries < 0) {
      throw new InvalidOptionsError('cacheMaxEntries must be an integer >= 0', { option: 'cacheMaxEntries' });
    }
    const cacheMaxBytes = options.cacheMaxBytes ?? JWT_DEFAULTS.cacheMaxBytes;
    if (!(cacheMaxBytes > 0))
      throw new InvalidOptionsError('cacheMaxBytes must be > 0', { option: 'cacheMaxBytes' });
    this.#cache =
      cacheMaxEntries === 0
        ? undefined
        : new LruMap<string, JwtClaims>({
            maxEntries: cacheMaxEntries,
            maxSize: cacheMaxBytes,
            sizeOf: (_claims, token) => token.length * 2 + 128,
            now: this.#now,
          });
  }

  /** The algorithms this instance accepts. */
  get algorithms(): readonly JwtAlgorithm[] {
    return [...this.#allowed];
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
      return Promise.resolve(this.#sign(claims, options));
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
    return this.#sign(claims, options);
  }

  #sign(claims: JwtClaims, options: JwtSignOptions): string {
    checkSignOptions(options);
    if (this.#signing === undefined) {
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
    const token = `${input}.${signBytes(this.#signing.alg, this.#signing.key, input).toString('base64url')}`;
    if (token.length > this.#maxTokenBytes) {
      // A token this instance would refuse to verify is not worth handing out.
      throw new PayloadTooLargeError(
        `the signed token would be ${token.length} bytes, over maxTokenBytes (${this.#maxTokenBytes})`,
        { bytes: token.length, maxBytes: this.#maxTokenBytes },
      );
    }
    return token;
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
    if (this.#denylist === undefined) {
      // Nothing to wait for when the key is at hand (static keys, or a JWKS
      // already loaded and fresh): one settled promise, no async frame.
      try {
        const claims =
          this.#jwks === undefined ? this.#verifyStatic(token) : this.#verifyWithLoadedJwks(token);
        if (claims !== undefined) return Promise.resolve(claims);
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return this.#verifyAsync(token);
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
      this.#jwks !== undefined ? await this.#jwks.getKey(header.kid, header.alg) : this.#staticKey(header);
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
    const key = this.#jwks!.peekKey(header.kid, header.alg);
    return key === undefined ? undefined : this.#finish(token, dot1, dot2, header, key);
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
    if (this.#jwks !== undefined || this.#denylist !== undefined) {
      throw new InvalidArgumentError('verifySync needs static keys and no denylist: use verify', {
        argument: 'token',
      });
    }
    return this.#verifyStatic(token);
  }

  #verifyStatic(token: string): Readonly<JwtClaims> {
    const cached = this.#cacheHit(token);
    if (cached !== undefined) return cached;
    this.#checkSize(token);
    const dot1 = token.indexOf('.');
    const dot2 = token.indexOf('.', dot1 + 1);
    const header = this.#header(token.slice(0, dot1));
    return this.#finish(token, dot1, dot2, header, this.#staticKey(header));
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
    const denylist = this.#requireDenylist();
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) {
      throw new InvalidArgumentError('jti must be a string of 1 to 256 characters', { argument: 'jti' });
    }
    if (!Number.isFinite(expiresAtMs)) {
      throw new InvalidArgumentError('expiresAtMs must be a finite number', { argument: 'expiresAtMs' });
    }
    await denylist.add(jti, expiresAtMs + this.#toleranceMs);
  }

  /**
   * Drops the verified-token cache and stops JWKS fetches in flight. The
   * denylist adapter is the caller's: close it yourself.
   *
   * @example
   * ```ts
   * await jwt.close();
   * ```
   */
  async close(): Promise<void> {
    this.#cache?.clear();
    this.#jwks?.close();
  }

  /** Same as {@link close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #requireDenylist(): JwtDenylistAdapter {
    if (this.#denylist === undefined) {
      throw new InvalidArgumentError('revocation needs the denylist option', { argument: 'denylist' });
    }
    return this.#denylist;
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
    if (!this.#allowed.has(raw.alg as JwtAlgorithm)) {
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

  #staticKey(header: ParsedHeader): KeyObject {
    let entry: StaticKey | undefined;
    if (header.kid !== undefined && this.#byKid.size > 0) {
      entry = this.#byKid.get(header.kid);
      if (entry === undefined) throw new JwksNoMatchingKeyError('no key matches the token "kid"');
    } else {
      entry = this.#primary;
    }
    if (entry === undefined || !entry.algorithms.includes(header.alg)) {
      throw new JwtAlgorithmError('algorithm does not fit the key');
    }
    return entry.key;
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
    if (claims.jti !== undefined && (typeof claims.jti !== 'string' || claims.jti.length > 256)) {
      throw new JwtClaimMissingError('token "jti" must be a string of at most 256 characters', {
        claim: 'jti',
      });
    }
    deepFreeze(claims);
    this.#cache?.set(token, claims, Math.max(1, Math.floor(expiresAtMs - nowMs)));
    return claims;
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
