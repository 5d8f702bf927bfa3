/**
 * Checks of the arguments of the registry's methods (and its balancer
 * factories): the option keys of `register` and `pick`, and extra
 * arguments where a method takes none. The constructor's options are
 * checked in `registry-options.ts`, records and URLs in
 * `record-validation.ts`.
 *
 * @module
 */
import { InvalidOptionsError } from '../errors.js';
import { optionsChecker } from '../internal/validate.js';

/** @internal Refuses unknown keys of `RegisterOptions`. */
export const checkRegisterOptions = optionsChecker({
  where: 'registry.register() options',
  keys: ['weight', 'metadata', 'ttlMs'],
  hints: { ttl: 'ttlMs', meta: 'metadata', tags: 'metadata' },
  bareNumber: 'ttlMs',
});

const checkPickKeys = optionsChecker({
  where: 'pick options',
  keys: ['exclude'],
  hints: { excluded: 'exclude', skip: 'exclude' },
});

/**
 * @internal Checks `PickOptions`: known keys only, and `exclude` a Set or a
 * non-string iterable of ids (a string is iterable, by character: refused).
 */
export function checkPickOptions(options: unknown): void {
  checkPickKeys(options);
  const exclude = (options as { exclude?: unknown } | undefined)?.exclude;
  if (exclude === undefined || exclude instanceof Set) return;
  if (
    typeof exclude !== 'object' ||
    exclude === null ||
    typeof (exclude as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== 'function'
  ) {
    throw new InvalidOptionsError('exclude must be a Set or an array of instance ids', { option: 'exclude' });
  }
}

/**
 * @internal Refuses arguments past the ones a method takes (a JavaScript
 * caller's options object where there are none), naming the method.
 */
export function refuseExtraArguments(method: string, extra: readonly unknown[]): void {
  if (extra.length === 0 || (extra.length === 1 && extra[0] === undefined)) return;
  throw new InvalidOptionsError(`${method} takes no options (got ${extra.length} extra argument(s))`, {});
}
