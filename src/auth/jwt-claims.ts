import { KeyObject } from 'node:crypto';
import { InvalidArgumentError, InvalidOptionsError, SerializationError } from '../errors.js';
import { isPlainObject, isWellFormed, optionsChecker } from '../internal/validate.js';
import { assertSafePayload } from '../serializer.js';

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

/** @internal Refuses unknown keys of `jwt.sign()` options (`expiresIn` → `expiresInMs`). */
export const checkSignOptions = optionsChecker({
  where: 'jwt.sign() options',
  keys: ['expiresInMs', 'notBeforeMs'],
  hints: {
    expiresIn: 'expiresInMs',
    expires: 'expiresInMs',
    ttl: 'expiresInMs',
    ttlMs: 'expiresInMs',
    notBefore: 'notBeforeMs',
    nbf: 'notBeforeMs',
  },
  bareNumber: 'expiresInMs',
});

/**
 * Refuses, synchronously, the jsonwebtoken call shapes
 * `jwt.sign(payload, secret, { expiresIn })` and `jwt.verify(token, secret)`:
 * a key where sign's options go, or any extra argument. Otherwise the call
 * would use the instance's key and default lifetime while the caller
 * believes otherwise (or, for verify, code expecting a synchronous answer
 * would take the promise for claims).
 *
 * @internal
 */
export function refuseJsonwebtokenShape(
  method: 'sign' | 'verify',
  options: unknown,
  extra: readonly unknown[],
): void {
  const keyWhereOptionsGo =
    method === 'sign' &&
    (typeof options === 'string' || options instanceof Uint8Array || options instanceof KeyObject);
  if (extra.length === 0 && !keyWhereOptionsGo) return;
  const third = extra[0];
  const expiresIn = typeof third === 'object' && third !== null && Object.hasOwn(third, 'expiresIn');
  throw new InvalidOptionsError(
    method === 'sign'
      ? `jwt.sign takes (claims, options): the key is given once, to createJwt({ secret }), and the lifetime as { expiresInMs }${expiresIn ? ' (24 h = 86_400_000)' : ''}`
      : 'jwt.verify takes (token) and answers a promise: the key is given once, to createJwt({ secret }); await it (or use verifySync)',
    expiresIn ? { option: 'expiresIn', suggestion: 'expiresInMs' } : { option: 'secret' },
  );
}

function printable(key: string): string {
  const short = key.length > 40 ? `${key.slice(0, 40)}...` : key;
  return short.replace(/[^\x20-\x7e]/g, '?');
}

function describe(value: object): string {
  const name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor
    ?.name;
  return typeof name === 'string' && name !== '' ? `a ${name}` : 'an object that is not plain';
}

/**
 * Checks that JSON writes `claims` faithfully, so that what `verify` returns
 * is what was signed: no functions, symbols, BigInt, NaN/Infinity (JSON
 * would drop them or write `null`), no Date/Map/Set/class instances (written
 * as strings or `{}`), no `undefined` inside an array (written as `null`),
 * no symbol keys, no prototype-pollution keys. A claim whose value is
 * `undefined` in an object is absent, as in JSON. Iterative and cycle-safe.
 *
 * @internal
 */
export function checkClaimValues(claims: object): void {
  // Almost every claims object passes: one allocation-free walk proves it.
  // Anything it is not sure of (a refusal, a cycle, deep nesting) takes the
  // full walk, which finds and names the offending value.
  if (!claimsAreFaithful(claims)) walkClaimValues(claims);
}

/**
 * The full walk behind {@link checkClaimValues}: throws naming the first
 * value JSON would not write faithfully, then runs `assertSafePayload`.
 *
 * @internal
 */
export function walkClaimValues(claims: object): void {
  const stack: Array<[unknown, string, boolean]> = [[claims, 'claims', false]];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const [value, path, inArray] = stack.pop()!;
    switch (typeof value) {
      case 'string':
      case 'boolean':
        continue;
      case 'number':
        if (!Number.isFinite(value)) {
          throw new SerializationError(`${path} is ${value}: JSON would write null`);
        }
        continue;
      case 'undefined':
        if (inArray) throw new SerializationError(`${path} is undefined: JSON would write null`);
        continue;
      case 'function':
      case 'symbol':
      case 'bigint':
        throw new SerializationError(`${path} is a ${typeof value}, which JSON cannot write`);
    }
    if (value === null || seen.has(value as object)) continue;
    seen.add(value as object);
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) stack.push([value[i], `${path}[${i}]`, true]);
      continue;
    }
    if (!isPlainObject(value as object)) {
      throw new SerializationError(
        `${path} is ${describe(value as object)}: claims hold plain JSON values (convert it first)`,
      );
    }
    if (Object.getOwnPropertySymbols(value).length > 0) {
      throw new SerializationError(`${path} has symbol keys, which JSON drops`);
    }
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) stack.push([record[key], `${path}.${printable(key)}`, false]);
  }
  assertSafePayload(claims);
}

/** Nesting past this depth (or a cycle, which reaches it) goes to the full walk. */
const FAST_DEPTH = 32;

/**
 * True when `claims` certainly pass {@link walkClaimValues}: the same rules,
 * without paths, without the cycle set (a cycle runs into
 * {@link FAST_DEPTH}), and answering false outright for any own `__proto__`
 * or `constructor` key, which the full walk then judges. False means "look
 * closer", never "refused".
 *
 * @internal
 */
export function claimsAreFaithful(claims: object): boolean {
  return isFaithful(claims, false, 0);
}

function isFaithful(value: unknown, inArray: boolean, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'undefined':
      return !inArray;
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null) return true;
  if (depth >= FAST_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!isFaithful(value[i], true, depth + 1)) return false;
    return true;
  }
  if (
    !isPlainObject(value) ||
    Object.hasOwn(value, '__proto__') ||
    Object.hasOwn(value, 'constructor') ||
    Object.getOwnPropertySymbols(value).length > 0
  ) {
    return false;
  }
  const record = value as Record<string, unknown>;
  for (const key in record) {
    if (Object.hasOwn(record, key) && !isFaithful(record[key], false, depth + 1)) return false;
  }
  return true;
}

function bad(claim: string, rule: string): never {
  throw new InvalidArgumentError(`claims.${claim} must be ${rule}`, { argument: 'claims' });
}

/**
 * Checks the registered claims a caller may set: `sub` a string or a safe
 * integer (the design signs `sub: user.id`, and ids are often numbers: a
 * number stays a number), `iss` a string, `aud` a string or a non-empty list
 * of strings, `jti` a string of 1 to 256 characters without a lone
 * surrogate (a denylist key: its UTF-8 form would be U+FFFD, shared with
 * other ids), `nbf` a finite number.
 *
 * @internal
 */
export function checkRegisteredClaims(claims: Record<string, unknown>): void {
  const { sub, iss, aud, jti, nbf } = claims;
  if (sub !== undefined && typeof sub !== 'string' && !Number.isSafeInteger(sub)) {
    bad('sub', 'a string or a safe integer');
  }
  if (iss !== undefined && typeof iss !== 'string') bad('iss', 'a string');
  if (
    aud !== undefined &&
    typeof aud !== 'string' &&
    !(Array.isArray(aud) && aud.length > 0 && aud.every((a) => typeof a === 'string'))
  ) {
    bad('aud', 'a string or a non-empty list of strings');
  }
  if (
    jti !== undefined &&
    (typeof jti !== 'string' || jti.length === 0 || jti.length > 256 || !isWellFormed(jti))
  ) {
    bad('jti', 'a string of 1 to 256 characters, no lone surrogate');
  }
  if (nbf !== undefined && (typeof nbf !== 'number' || !Number.isFinite(nbf))) {
    bad('nbf', 'a finite number (or use notBeforeMs)');
  }
}

/**
 * The JSON text of checked `claims` with `members` (JSON text of more
 * members, each starting with a comma, none of them in `claims`) appended
 * inside the braces: what `JSON.stringify({ ...claims, ...more })` writes,
 * without building the merged object.
 *
 * @internal
 */
export function claimsJson(claims: object, members: string): string {
  const text = stringifyClaims(claims);
  // A plain object's JSON is "{...}"; "{}" has no member to follow.
  return text.length === 2 ? `{${members.slice(1)}}` : `${text.slice(0, -1)}${members}}`;
}

/**
 * `JSON.stringify` of checked claims, with its last failures (a cycle, a
 * structure too deep for the stack) as {@link SerializationError}.
 *
 * @internal
 */
export function stringifyClaims(payload: object): string {
  try {
    return JSON.stringify(payload);
  } catch (err) {
    const reason =
      err instanceof RangeError
        ? 'nested too deeply'
        : err instanceof TypeError && /circular/i.test(err.message)
          ? 'circular'
          : 'not writable as JSON';
    throw new SerializationError(`claims are ${reason}`, { cause: err });
  }
}
