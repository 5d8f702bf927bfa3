import { InvalidArgumentError, InvalidOptionsError } from '../errors.js';
import { optionsChecker } from '../internal/validate.js';

/** @internal Refuses unknown keys of `ServiceRegistryOptions`. */
export const checkServiceRegistryOptions = optionsChecker({
  where: 'ServiceRegistry options',
  keys: [
    'adapter',
    'balancer',
    'ttlMs',
    'heartbeatIntervalMs',
    'resyncIntervalMs',
    'operationTimeoutMs',
    'healthCheck',
    'outlierDetection',
    'panicThresholdPercent',
    'slowStartMs',
    'deregisterOnClose',
    'logger',
    'clock',
  ],
  hints: {
    ttl: 'ttlMs',
    interval: 'heartbeatIntervalMs',
    healthChecks: 'healthCheck',
    timeout: 'operationTimeoutMs',
  },
  bareNumber: 'ttlMs',
});

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

const EVENTS = new Set(['change', 'health', 'ejection', 'panic', 'lease', 'error']);

/**
 * @internal Checks an `on`/`off` call: a known event (a typo such as
 * `'chnage'` would otherwise never fire) and a function listener.
 */
export function checkListener(event: unknown, listener: unknown): void {
  if (typeof event !== 'string' || !EVENTS.has(event)) {
    throw new InvalidArgumentError(`unknown registry event; known: ${[...EVENTS].join(', ')}`, {
      argument: 'event',
    });
  }
  if (typeof listener !== 'function') {
    throw new InvalidArgumentError('listener must be a function', { argument: 'listener' });
  }
}
