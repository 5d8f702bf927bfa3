import type { RegistryLease, RegistryRecord } from '../contracts/registry.js';
import { CorruptDataError, InvalidArgumentError, isScaleoutError } from '../errors.js';
import { isPlainObject, isWellFormed, keyArgument } from '../internal/validate.js';
import { assertSafePayload } from '../serializer.js';

/**
 * Shortest lease accepted by `register`, ms.
 *
 * @example
 * ```ts
 * await registry.register('svc', url, { ttlMs: MIN_LEASE_TTL_MS });
 * ```
 */
export const MIN_LEASE_TTL_MS = 100;
/**
 * Longest lease accepted by `register`, ms (one day).
 *
 * @example
 * ```ts
 * const ttlMs = Math.min(requestedTtlMs, MAX_LEASE_TTL_MS);
 * ```
 */
export const MAX_LEASE_TTL_MS = 86_400_000;

/** Longest service name, in UTF-16 units. */
export const MAX_SERVICE_NAME_LENGTH = 256;
/** Longest instance URL, in UTF-16 units. */
export const MAX_URL_LENGTH = 2048;
/** Longest owner token a record may carry (scaleout writes a 36-char UUID). */
const MAX_OWNER_LENGTH = 256;
/** Clock disagreement tolerated between a lease's expiry and `now + MAX_LEASE_TTL_MS`, ms. */
const EXPIRY_SLACK_MS = 60_000;

/**
 * What a registration is made of, once checked: the fields `register`
 * validates and every record read back from a store must pass again.
 */
export interface CheckedRegistration {
  /** The service name. */
  service: string;
  /** The instance id: the normalised URL (a path always ends with `/`). */
  id: string;
  /** The weight, in (0, 1_000_000]. */
  weight: number;
  /** A copy of the metadata: at most 64 string entries. */
  metadata: Record<string, string>;
}

/**
 * Checks an instance URL and returns its normalised form (the instance id):
 * well-formed Unicode, absolute `http:`/`https:`, no credentials, query or fragment, no empty
 * path segment (`//`), at most 2048 characters; the path gets a trailing `/`. Throws `InvalidArgumentError`
 * (argument `url`); the message never echoes the URL.
 *
 * @example
 * ```ts
 * normaliseInstanceUrl('http://10.0.0.7:4001'); // 'http://10.0.0.7:4001/'
 * normaliseInstanceUrl('javascript:alert(1)'); // throws InvalidArgumentError
 * ```
 */
export function normaliseInstanceUrl(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_URL_LENGTH) {
    throw new InvalidArgumentError(`url must be a non-empty string of at most ${MAX_URL_LENGTH} characters`, {
      argument: 'url',
    });
  }
  if (!isWellFormed(value)) {
    // The URL parser would turn each lone surrogate into %EF%BF%BD: two URLs, one id.
    throw new InvalidArgumentError('url must be well-formed Unicode (no lone surrogate)', {
      argument: 'url',
    });
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('url is not a valid absolute URL', { argument: 'url' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    const scheme = url.protocol.length > 24 ? `${url.protocol.slice(0, 24)}...` : url.protocol;
    throw new InvalidArgumentError(`url must use http: or https:, not ${JSON.stringify(scheme)}`, {
      argument: 'url',
    });
  }
  if (url.username !== '' || url.password !== '') {
    throw new InvalidArgumentError(
      'url must not carry credentials: every process reading the registry sees it',
      { argument: 'url' },
    );
  }
  // A bare `?` or `#` reads as no query or fragment but stays in the href,
  // where `${instance}/path` would put the path into it.
  if (url.search !== '' || url.hash !== '' || url.href.includes('?') || url.href.includes('#')) {
    throw new InvalidArgumentError('url must not have a query or fragment', { argument: 'url' });
  }
  if (url.pathname.includes('//')) {
    // A base URL with an empty path segment cannot be joined with a path without `//`.
    throw new InvalidArgumentError('url path must not contain an empty segment (//)', { argument: 'url' });
  }
  if (!url.pathname.endsWith('/')) url.pathname = `${url.pathname}/`;
  return url.href;
}

/**
 * The base URL handed out for an instance id: the id without its trailing
 * `/`, so that `${url}/path` and `url + '/path'` never make `//`.
 *
 * @example
 * ```ts
 * instanceBaseUrl('http://10.0.0.7:4001/api/'); // 'http://10.0.0.7:4001/api'
 * ```
 */
export function instanceBaseUrl(id: string): string {
  return id.endsWith('/') ? id.slice(0, -1) : id;
}

/**
 * Checks a lease length: an integer number of ms in
 * [{@link MIN_LEASE_TTL_MS}, {@link MAX_LEASE_TTL_MS}]. Throws
 * `InvalidArgumentError` (argument `ttlMs`).
 *
 * @example
 * ```ts
 * const ttlMs = checkLeaseTtl(options.ttlMs ?? 15_000);
 * ```
 */
export function checkLeaseTtl(value: unknown): number {
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < MIN_LEASE_TTL_MS ||
    value > MAX_LEASE_TTL_MS
  ) {
    throw new InvalidArgumentError(
      `ttlMs must be an integer number of ms in [${MIN_LEASE_TTL_MS}, ${MAX_LEASE_TTL_MS}]`,
      { argument: 'ttlMs' },
    );
  }
  return value;
}

function checkWeight(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 1_000_000) {
    throw new InvalidArgumentError('weight must be a number in (0, 1000000]', { argument: 'weight' });
  }
  return value;
}

function checkMetadata(metadata: unknown): Record<string, string> {
  if (
    typeof metadata !== 'object' ||
    metadata === null ||
    Array.isArray(metadata) ||
    (Object.getPrototypeOf(metadata) !== Object.prototype && Object.getPrototypeOf(metadata) !== null)
  ) {
    throw new InvalidArgumentError('metadata must be a plain object of strings', { argument: 'metadata' });
  }
  try {
    assertSafePayload(metadata);
  } catch (err) {
    throw new InvalidArgumentError('metadata carries a prototype-pollution key', {
      argument: 'metadata',
      cause: err,
    });
  }
  const keys = Object.keys(metadata);
  if (keys.length > 64) {
    throw new InvalidArgumentError('metadata has more than 64 entries', { argument: 'metadata' });
  }
  const copy: Record<string, string> = {};
  for (const k of keys) {
    const v = (metadata as Record<string, unknown>)[k];
    if (typeof v !== 'string' || k.length > 256 || v.length > 1024) {
      throw new InvalidArgumentError(
        'metadata values must be strings (keys up to 256, values up to 1024 chars)',
        { argument: 'metadata' },
      );
    }
    copy[k] = v;
  }
  return copy;
}

/**
 * The checks of a registration, shared by `ServiceRegistry.register` (the
 * write path) and {@link readRegistryRecord} (every read path): a service
 * name (non-empty, at most 256 characters, no control characters or lone
 * surrogates), an
 * http(s) URL ({@link normaliseInstanceUrl}), a weight in (0, 1e6], string
 * metadata without pollution keys. Throws `InvalidArgumentError` naming the
 * argument; the message never echoes the value.
 *
 * @example
 * ```ts
 * const { id, weight, metadata } = checkRegistration('pricing', url, options.weight ?? 1, options.metadata ?? {});
 * ```
 */
export function checkRegistration(
  service: unknown,
  url: unknown,
  weight: unknown,
  metadata: unknown,
): CheckedRegistration {
  return {
    service: keyArgument('service', service, MAX_SERVICE_NAME_LENGTH),
    id: normaliseInstanceUrl(url),
    weight: checkWeight(weight),
    metadata: checkMetadata(metadata),
  };
}

function corrupt(reason: string, key: string | undefined): CorruptDataError {
  const where =
    key === undefined ? '' : ` at ${JSON.stringify(key.length > 200 ? `${key.slice(0, 200)}...` : key)}`;
  return new CorruptDataError(`registry record${where} skipped: ${reason}`, key === undefined ? {} : { key });
}

/**
 * The checks of a stored record, shared by every path that reads one (and
 * the memory adapter's write path): `register`'s own checks
 * ({@link checkRegistration}), plus what only a stored record has: its
 * `service` must be the one it was read under, its `id` the normalised form
 * of its `url` (and `expectedId`, the store's field, when given), `owner` a
 * non-empty string, `registeredAt` a finite number. Fields scaleout does not
 * write are dropped (a newer version may add some). Returns a fresh record,
 * or the reason it fails (never echoing the value).
 *
 * @example
 * ```ts
 * const checked = validateRegistryRecord(value, 'pricing');
 * if (typeof checked === 'string') throw new InvalidArgumentError(checked);
 * ```
 */
export function validateRegistryRecord(
  value: unknown,
  service: string,
  expectedId?: string,
): RegistryRecord | string {
  if (!isPlainObject(value)) return 'not a JSON object';
  let checked: CheckedRegistration;
  try {
    checked = checkRegistration(value.service, value.url, value.weight, value.metadata);
  } catch (err) {
    if (!isScaleoutError(err, 'ERR_INVALID_ARGUMENT')) throw err;
    return `field ${(err as InvalidArgumentError).argument}: ${err.message}`;
  }
  if (checked.service !== service) return `its service is not ${JSON.stringify(service)}`;
  if (value.id !== checked.id) return 'its id is not its normalised url';
  if (expectedId !== undefined && checked.id !== expectedId) return 'it is stored under another instance id';
  const owner = value.owner;
  if (typeof owner !== 'string' || owner.length === 0 || owner.length > MAX_OWNER_LENGTH) {
    return 'field owner: not a non-empty string of at most 256 characters';
  }
  const registeredAt = value.registeredAt;
  if (typeof registeredAt !== 'number' || !Number.isFinite(registeredAt) || registeredAt < 0) {
    return 'field registeredAt: not a finite number of ms';
  }
  return {
    service: checked.service,
    id: checked.id,
    url: checked.id,
    weight: checked.weight,
    metadata: checked.metadata,
    owner,
    registeredAt,
  };
}

/**
 * Validates a record read back from a store (a list, an announcement) with
 * {@link validateRegistryRecord}: returns a fresh record, or throws
 * {@link CorruptDataError} naming `key`, with the reason (never the value).
 *
 * @example
 * ```ts
 * try {
 *   leases.push({ record: readRegistryRecord(JSON.parse(text), 'pricing', key), expiresAt });
 * } catch (err) {
 *   skipped.push(err as CorruptDataError);
 * }
 * ```
 */
export function readRegistryRecord(
  value: unknown,
  service: string,
  key: string | undefined,
  expectedId?: string,
): RegistryRecord {
  const checked = validateRegistryRecord(value, service, expectedId);
  if (typeof checked === 'string') throw corrupt(checked, key);
  return checked;
}

/**
 * Validates a lease read back from a store: its record
 * ({@link readRegistryRecord}) and its expiry, a finite number of ms no
 * further than {@link MAX_LEASE_TTL_MS} (plus a minute of clock slack)
 * past `now` when `now` (the store's clock) is known. Throws
 * {@link CorruptDataError} naming `key`.
 *
 * @example
 * ```ts
 * const lease = readRegistryLease(record, Number(score), { service, key, now });
 * ```
 */
export function readRegistryLease(
  record: unknown,
  expiresAt: unknown,
  where: { service: string; key: string | undefined; id?: string; now?: number },
): RegistryLease {
  const checked = readRegistryRecord(record, where.service, where.key, where.id);
  if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)) {
    throw corrupt('its lease expiry is not a finite number', where.key);
  }
  if (where.now !== undefined && expiresAt > where.now + MAX_LEASE_TTL_MS + EXPIRY_SLACK_MS) {
    throw corrupt('its lease ends further ahead than the longest lease', where.key);
  }
  return { record: checked, expiresAt };
}
