import type { UpstreamInstance, UpstreamSource } from '../contracts/upstream.js';
import { InvalidOptionsError } from '../errors.js';
import { redactUrl } from '../internal/redact.js';
import { optionsChecker } from '../internal/validate.js';
import type { ServiceRegistry } from '../registry/service-registry.js';
import { isServiceRegistry, RegistryUpstreamSource } from './registry-upstream-source.js';
import { isCallableInstance } from './request-url.js';

/**
 * Where a {@link ServiceClient} sends requests: one base URL, or a service
 * name resolved per attempt through a registry.
 *
 * @example
 * ```ts
 * const direct: ServiceClientTarget = { baseUrl: 'http://127.0.0.1:4001' };
 * const found: ServiceClientTarget = { service: 'inventory', registry };
 * ```
 */
export type ServiceClientTarget =
  | {
      /** Absolute http(s) URL every request is sent to, without query or fragment. */
      readonly baseUrl: string;
    }
  | {
      /** Name of the service, passed to `registry.pick`. */
      readonly service: string;
      /**
       * Where instances come from and where attempt results go: a
       * `ServiceRegistry` (its balancer, outstanding counts and outlier
       * ejection see every attempt), or any {@link UpstreamSource}.
       */
      readonly registry: ServiceRegistry | UpstreamSource;
    };

/**
 * A {@link ServiceClientTarget} as the client uses it.
 *
 * @internal
 */
export interface ResolvedTarget {
  /** The service name, or the redacted base URL. */
  readonly service: string;
  /** The one instance of a `{ baseUrl }` target (its id is the URL's origin). */
  readonly fixed: UpstreamInstance | undefined;
  /** The registry of a `{ service, registry }` target (a `ServiceRegistry` wrapped). */
  readonly source: UpstreamSource | undefined;
}

/** A name safe to repeat in a message: a plain service name, else a placeholder. */
function nameOf(value: unknown): string {
  return typeof value === 'string' && /^[\w.-]{1,64}$/.test(value) ? value : '<service>';
}

/**
 * Checks the shape of the target of `new ServiceClient(target, options)`:
 * the design's forms (`new ServiceClient('inventory-service')`, which read
 * `process.env['INVENTORY-SERVICE_URL']`, and `new ServiceClient(registry,
 * 'inventory-service')`) fail with the scaleout form in the message; a
 * target with unknown keys is refused.
 *
 * @internal
 */
export function checkServiceClientTarget(target: unknown, options: unknown): void {
  if (typeof target === 'string') {
    const name = nameOf(target);
    throw new InvalidOptionsError(
      `new ServiceClient('${name}') is the design's form, which read process.env['${name.toUpperCase()}_URL']: pass the URL, new ServiceClient({ baseUrl: process.env['${name.toUpperCase()}_URL'] }), or find instances through a registry, new ServiceClient({ service: '${name}', registry })`,
      { option: 'target', suggestion: 'baseUrl' },
    );
  }
  if (typeof target !== 'object' || target === null || Array.isArray(target)) {
    throw new InvalidOptionsError('target must be { baseUrl } or { service, registry }', {
      option: 'target',
    });
  }
  if (typeof (target as { pick?: unknown }).pick === 'function') {
    const name = nameOf(options);
    throw new InvalidOptionsError(
      `new ServiceClient(registry, '${name}') is the design's form: pass new ServiceClient({ service: '${name}', registry })`,
      { option: 'target', suggestion: 'service' },
    );
  }
  const keys = 'baseUrl' in target ? ['baseUrl'] : ['service', 'registry'];
  optionsChecker({
    where: 'ServiceClient target',
    keys,
    hints: { baseURL: 'baseUrl', url: 'baseUrl', name: 'service', serviceName: 'service' },
  })(target);
  if (!('baseUrl' in target) && !('service' in target)) {
    throw new InvalidOptionsError('target must be { baseUrl } or { service, registry }', {
      option: 'target',
    });
  }
  if (typeof options === 'string') {
    throw new InvalidOptionsError(
      'ServiceClient options must be an options object; the service name goes in the target: new ServiceClient({ service, registry }, options)',
      { option: 'options' },
    );
  }
}

/**
 * Checks the values of a target {@link checkServiceClientTarget} let
 * through (a base URL an absolute http(s) URL without query or fragment; a
 * service name and a registry with `pick`) and resolves it.
 *
 * @internal
 */
export function resolveTarget(target: ServiceClientTarget): ResolvedTarget {
  if ('baseUrl' in target) {
    if (typeof target.baseUrl !== 'string') {
      throw new InvalidOptionsError(
        `baseUrl must be an absolute http(s) URL, got ${target.baseUrl === undefined ? 'undefined (is the environment variable set?)' : typeof target.baseUrl}`,
        { option: 'baseUrl' },
      );
    }
    let parsed: URL;
    try {
      parsed = new URL(target.baseUrl);
    } catch {
      throw new InvalidOptionsError('baseUrl must be an absolute http(s) URL', { option: 'baseUrl' });
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new InvalidOptionsError('baseUrl must be an absolute http(s) URL', { option: 'baseUrl' });
    }
    // A bare `?` or `#` reads as no query or fragment but stays in the URL,
    // where `${baseUrl}/path` would put the path into it.
    if (parsed.search !== '' || parsed.hash !== '' || /[?#]/.test(target.baseUrl)) {
      throw new InvalidOptionsError(
        'baseUrl must not have a query or fragment: the path of each call is appended to it (query parameters go in the params of a call)',
        { option: 'baseUrl' },
      );
    }
    if (!isCallableInstance({ id: '', url: target.baseUrl })) {
      throw new InvalidOptionsError(
        'baseUrl must be an absolute http(s) URL (http:// or https://, no leading space or control characters)',
        { option: 'baseUrl' },
      );
    }
    return {
      service: redactUrl(target.baseUrl),
      fixed: { id: parsed.origin, url: target.baseUrl },
      source: undefined,
    };
  }
  if ('service' in target) {
    if (typeof target.service !== 'string' || target.service === '') {
      throw new InvalidOptionsError('service must be a non-empty string', { option: 'service' });
    }
    if (typeof target.registry?.pick !== 'function') {
      throw new InvalidOptionsError('registry must have a pick(service, { exclude }) method', {
        option: 'registry',
      });
    }
    return {
      service: target.service,
      fixed: undefined,
      source: isServiceRegistry(target.registry)
        ? new RegistryUpstreamSource(target.registry)
        : target.registry,
    };
  }
  throw new InvalidOptionsError('target must be { baseUrl } or { service, registry }', {
    option: 'target',
  });
}
