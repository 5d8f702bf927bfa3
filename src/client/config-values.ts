import { InvalidOptionsError } from '../errors.js';

/** Most functions a `transformRequest`/`transformResponse` array may hold. */
export const MAX_TRANSFORMS = 100;
/** Most entries of a `headers` or `params` object, and of an array value in one. */
export const MAX_CONFIG_ENTRIES = 1_000;

/**
 * Checks the values axios walks element by element (`transformRequest`,
 * `transformResponse`, `headers`, `params`) before the config reaches
 * axios: axios loops over an array to its `length`, so a sparse array of
 * length 2^32 - 1 would hold the event loop for minutes. Throws
 * {@link InvalidOptionsError} naming the option.
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
  if (!(config.params instanceof URLSearchParams)) checkEntries(config.params, 'params', where);
}

function allFunctions(values: readonly unknown[]): boolean {
  // An index loop: every() skips the holes of a sparse array.
  for (let i = 0; i < values.length; i++) if (typeof values[i] !== 'function') return false;
  return true;
}

function checkEntries(value: unknown, key: 'headers' | 'params', where: string): void {
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
  }
}
