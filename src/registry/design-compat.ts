/**
 * The pieces that keep the design's registry API meaning what it meant
 * (DESIGN.md "Conventions"): `getServiceInstance()` used as a URL fails
 * loudly, and `runHealthChecks()` without a `healthCheck` option runs the
 * design's check.
 *
 * @module
 */
import { InvalidArgumentError } from '../errors.js';
import { HealthChecker } from './health-checker.js';

/**
 * @internal Makes a promise that the design's code would have used as a
 * value fail loudly: the design's `getServiceInstance()` returned a URL
 * string synchronously, so ported code writes `${registry.getServiceInstance(name)}/path`.
 * Ours resolves to the instance; converting the promise itself to a
 * string or number (template literal, `+`) throws `InvalidArgumentError`
 * saying to await it, instead of requesting `[object Promise]/path`. The
 * promise is marked handled then, since the caller never awaits it.
 *
 * @example
 * ```ts
 * const instance = mustBeAwaited(registry.watch('pricing').then(() => registry.pick('pricing')), 'getServiceInstance()');
 * `${instance}/quote`; // throws InvalidArgumentError: await it
 * ```
 */
export function mustBeAwaited<T>(promise: Promise<T>, what: string): Promise<T> {
  Object.defineProperty(promise, Symbol.toPrimitive, {
    value: () => {
      promise.catch(() => {});
      throw new InvalidArgumentError(
        `${what} returns a Promise: await it (const instance = await ${what.replace(/\(\)$/, '(name)')}), ` +
          'or pick synchronously with registry.pick(name) once registry.watch(name) has resolved',
      );
    },
    enumerable: false,
  });
  return promise;
}

/**
 * @internal The check of the design's `runHealthChecks()`: GET `/health`
 * with a 5 s timeout, and the default thresholds. Used when the registry
 * has no `healthCheck` option.
 *
 * @example
 * ```ts
 * const results = await designHealthChecker().checkAll(await registry.instances('pricing'));
 * ```
 */
export function designHealthChecker(): HealthChecker {
  return new HealthChecker({ timeoutMs: 5_000 });
}
