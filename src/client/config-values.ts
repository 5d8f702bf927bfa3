import { InvalidOptionsError } from '../errors.js';
import { MAX_TIMER_MS } from '../internal/timers.js';
import { isPlainObject } from '../internal/validate.js';

/** Most functions a `transformRequest`/`transformResponse` array may hold. */
export const MAX_TRANSFORMS = 100;
/** Most entries of a `headers` or `params` object, and of an array value in one. */
export const MAX_CONFIG_ENTRIES = 1_000;

/**
 * Checks the values axios walks element by element (`transformRequest`,
 * `transformResponse`, `headers`, `params`) before the config reaches
 * axios: axios loops over an array to its `length`, so a sparse array of
 * length 2^32 - 1 would hold the event loop for minutes; and the type and
 * range of its number, boolean and enum keys (`maxContentLength`,
 * `timeout`, `responseType`...), which axios would coerce, ignore or throw
 * on from a socket callback. Throws {@link InvalidOptionsError} naming
 * the option.
 *
 * @internal
 * @example
 * ```ts
 * checkConfigValues({ headers: { 'x-request-id': id } }, 'get()');
 * ```
 */
export function checkConfigValues(config: Record<string, unknown>, where: string): void {
  for (const key of ['transformRequest', 'transformResponse'] as const) {
    const value = config[key];
    if (value === undefined || typeof value === 'function') continue;
    if (Array.isArray(value) && value.length <= MAX_TRANSFORMS && allFunctions(value)) continue;
    throw new InvalidOptionsError(
      `${where} config: ${key} must be a function or an array of at most ${MAX_TRANSFORMS} functions`,
      { option: key },
    );
  }
  checkEntries(config.headers, 'headers', where);
  const sensitive = config.sensitiveHeaders;
  if (
    sensitive !== undefined &&
    !(
      Array.isArray(sensitive) &&
      sensitive.length <= MAX_CONFIG_ENTRIES &&
      Array.from(sensitive).every((name) => typeof name === 'string')
    )
  ) {
    // Names of headers never sent across origins on a redirect: a typo must not pass.
    throw new InvalidOptionsError(
      `${where} config: sensitiveHeaders must be an array of at most ${MAX_CONFIG_ENTRIES} header names`,
      { option: 'sensitiveHeaders' },
    );
  }
  if (!(config.params instanceof URLSearchParams)) checkEntries(config.params, 'params', where);
  for (const key in SCALAR_CHECKS) {
    const value = config[key];
    if (value === undefined) continue;
    const [valid, expected] = SCALAR_CHECKS[key]!;
    if (!valid(value)) {
      throw new InvalidOptionsError(`${where} config: ${key} must be ${expected}`, { option: key });
    }
  }
}

const isCount = (v: unknown, min: number): boolean =>
  typeof v === 'number' && (v === Number.POSITIVE_INFINITY || (Number.isInteger(v) && v >= min));
const isRate = (v: unknown): boolean => typeof v === 'number' && v >= 0 && v !== Number.POSITIVE_INFINITY;
const isBoolean = (v: unknown): boolean => typeof v === 'boolean';
const RESPONSE_TYPES = new Set(['arraybuffer', 'blob', 'document', 'json', 'text', 'stream', 'formdata']);

/**
 * The axios config keys with a number, boolean or enum value that axios
 * would coerce or misread (a string `'5'` taken as 5, `NaN` ignored, a
 * symbol thrown from a socket callback as an uncaught exception): each is
 * checked for its type and range, with what it must be.
 */
const SCALAR_CHECKS: Readonly<Record<string, readonly [(v: unknown) => boolean, string]>> = {
  maxContentLength: [(v) => isCount(v, -1), 'an integer >= -1 (-1: no limit) or Infinity'],
  maxBodyLength: [(v) => isCount(v, -1), 'an integer >= -1 (-1: no limit) or Infinity'],
  maxRedirects: [(v) => isCount(v, 0), 'an integer >= 0'],
  // axios arms a node timer with it: past 2^31 - 1 ms node fires it after 1 ms.
  timeout: [
    (v) => typeof v === 'number' && v >= 0 && v <= MAX_TIMER_MS,
    `ms from 0 (none) to ${MAX_TIMER_MS} (node's timer range; attemptTimeoutMs and deadlineMs go further)`,
  ],
  maxRate: [
    (v) => isRate(v) || (Array.isArray(v) && v.length >= 1 && v.length <= 2 && Array.from(v).every(isRate)),
    'bytes per second (a number >= 0) or [upload, download]',
  ],
  decompress: [isBoolean, 'a boolean'],
  withCredentials: [isBoolean, 'a boolean'],
  insecureHTTPParser: [isBoolean, 'a boolean'],
  allowAbsoluteUrls: [isBoolean, 'a boolean'],
  responseType: [
    (v) => typeof v === 'string' && RESPONSE_TYPES.has(v),
    `one of ${[...RESPONSE_TYPES].join(', ')}`,
  ],
  responseEncoding: [(v) => typeof v === 'string' && v.length <= 64, 'an encoding name (a string)'],
};

function allFunctions(values: readonly unknown[]): boolean {
  // An index loop: every() skips the holes of a sparse array.
  for (let i = 0; i < values.length; i++) if (typeof values[i] !== 'function') return false;
  return true;
}

function checkEntries(value: unknown, key: 'headers' | 'params', where: string, depth = 0): void {
  if (value === undefined || value === null) return;
  const refuse = (why: string) => new InvalidOptionsError(`${where} config: ${key} ${why}`, { option: key });
  if (typeof value !== 'object' || Array.isArray(value)) throw refuse('must be an object of names to values');
  const names = Object.keys(value);
  if (names.length > MAX_CONFIG_ENTRIES) throw refuse(`must have at most ${MAX_CONFIG_ENTRIES} entries`);
  for (const name of names) {
    const entry = (value as Record<string, unknown>)[name];
    if (Array.isArray(entry) && entry.length > MAX_CONFIG_ENTRIES) {
      throw refuse(`values must be arrays of at most ${MAX_CONFIG_ENTRIES} items`);
    }
    if (key !== 'headers') continue;
    if (depth === 0 && isPlainObject(entry)) {
      // axios' `common` and per-method buckets of headers.
      checkEntries(entry, key, where, 1);
    } else if (!isWireValue(entry)) {
      const named = HEADER_NAME.test(name) ? `the value of ${name}` : 'a value';
      throw refuse(
        `${named} has a character a header cannot carry (a control character such as CR or LF, or one past U+00FF); axios would drop it and send something else`,
      );
    }
  }
}

/** A header name (an RFC 9110 token), safe to repeat in a message. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;

/**
 * What a header value may hold to be sent as it is: tab, visible ASCII,
 * space, and the Latin-1 range (Node writes each character as one byte).
 */
const NOT_ON_THE_WIRE = /[^\t\x20-\x7e\x80-\xff]/;

function isWireValue(value: unknown): boolean {
  if (typeof value === 'string') return !NOT_ON_THE_WIRE.test(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === 'string' && NOT_ON_THE_WIRE.test(item)) return false;
    }
  }
  return true;
}
