import type { AxiosRequestConfig } from 'axios';
import { InvalidArgumentError, InvalidOptionsError } from '../errors.js';
import { isAbortSignal } from '../internal/abort.js';
import { isPlainObject, suggestOption } from '../internal/validate.js';
import { checkConfigValues } from './config-values.js';

/**
 * Every key of axios' request config, as its README and type definitions
 * document them (axios 1.x). `satisfies` fails the build if axios drops
 * one; a unit test reads axios' `index.d.ts` and fails when it adds one
 * (a compile-time check cannot: module augmentation, such as axios-retry's
 * `'axios-retry'` key, widens the type in any project that loads it).
 *
 * @internal
 */
export const AXIOS_REQUEST_CONFIG_KEYS = [
  'url',
  'method',
  'baseURL',
  'allowAbsoluteUrls',
  'transformRequest',
  'transformResponse',
  'headers',
  'params',
  'paramsSerializer',
  'data',
  'timeout',
  'timeoutErrorMessage',
  'withCredentials',
  'adapter',
  'auth',
  'responseType',
  'responseEncoding',
  'xsrfCookieName',
  'xsrfHeaderName',
  'onUploadProgress',
  'onDownloadProgress',
  'maxContentLength',
  'validateStatus',
  'maxBodyLength',
  'maxRedirects',
  'maxRate',
  'beforeRedirect',
  'socketPath',
  'allowedSocketPaths',
  'transport',
  'httpAgent',
  'httpsAgent',
  'proxy',
  'cancelToken',
  'decompress',
  'transitional',
  'signal',
  'insecureHTTPParser',
  'env',
  'formSerializer',
  'family',
  'lookup',
  'withXSRFToken',
  'parseReviver',
  'fetchOptions',
  'httpVersion',
  'http2Options',
  'formDataHeaderPolicy',
  'redact',
  'sensitiveHeaders',
] as const satisfies ReadonlyArray<keyof AxiosRequestConfig>;

/** The keys scaleout adds to the per-call config (see `ServiceRequestConfig`). */
export const SCALEOUT_REQUEST_CONFIG_KEYS = [
  'idempotencyKey',
  'deadlineMs',
  'deadlineAt',
  'attemptTimeoutMs',
] as const;

/** How the config was passed, which decides what it may hold. */
export type RequestConfigShape =
  /** `get(url, config)`, `post(url, data, config)`...: url and method are the arguments. */
  | 'method'
  /** `request(config)`, `requestResponse(config)`: the config carries url and method. */
  | 'request'
  /** `request(method, path, config)`, the design's shape. */
  | 'positional';

/** A call's arguments as {@link RequestConfigChecker.read} found them. */
export interface CallArguments {
  /** Upper case. */
  readonly method: string;
  readonly url: string;
  readonly data: unknown;
  /** The checked config, `undefined` when none was given. */
  readonly config: object | undefined;
}

/** Keys people write for something the config spells otherwise. */
const HINTS: Readonly<Record<string, string>> = {
  query: 'params',
  qs: 'params',
  searchParams: 'params',
  body: 'data',
  json: 'data',
  header: 'headers',
  timeoutMs: 'attemptTimeoutMs',
  deadline: 'deadlineMs',
  idempotency: 'idempotencyKey',
  idempotencyToken: 'idempotencyKey',
  'idempotency-key': 'idempotencyKey',
};

/** Set when the client's deadline or attempt timeout is what the caller meant. */
const RETRIES = new Set(['retries', 'retry', 'maxRetries', 'maxAttempts', 'attempts', 'retryCount']);

/**
 * Checks the per-call config of a {@link ServiceClient} call: a plain object
 * whose keys are axios request-config keys, scaleout's own, or keys the
 * client was told its axios interceptors read (`requestConfigKeys`).
 * Symbol keys pass (axios' documented way to carry custom config). A key
 * the call's shape decides (url, method, baseURL) is refused rather than
 * silently overridden. Throws {@link InvalidOptionsError} naming the key
 * and what was meant; never echoes a value.
 *
 * @internal
 */
export class RequestConfigChecker {
  readonly #known: ReadonlySet<string>;

  constructor(extraKeys: readonly string[] = []) {
    this.#known = new Set<string>([
      ...AXIOS_REQUEST_CONFIG_KEYS,
      ...SCALEOUT_REQUEST_CONFIG_KEYS,
      ...extraKeys,
    ]);
  }

  /**
   * Reads a call's arguments in its shape: checks the config (see
   * {@link check}), takes method, url and body from where the shape puts
   * them, and checks the method, that the url is a string, and the types
   * of `signal` and `validateStatus`.
   */
  read(
    method: string | undefined,
    url: unknown,
    data: unknown,
    config: unknown,
    where: string,
    shape: RequestConfigShape,
  ): CallArguments {
    if (config !== undefined) this.check(config, where, shape, data !== undefined);
    const c = config as
      | { method?: unknown; url?: unknown; data?: unknown; signal?: unknown; validateStatus?: unknown }
      | undefined;
    let methodName: unknown = method;
    let body = data;
    let target = url;
    if (shape === 'request') {
      methodName = c?.method ?? 'GET';
      target = c?.url ?? '';
      body = c?.data;
    } else if (shape === 'positional') {
      body = c?.data;
    }
    if (typeof target !== 'string') {
      throw new InvalidArgumentError(`${where}: url must be a string path such as '/items/42'`, {
        argument: 'url',
      });
    }
    if (c?.signal !== undefined && !isAbortSignal(c.signal)) {
      throw new InvalidOptionsError(`${where} config: signal must be an AbortSignal`, { option: 'signal' });
    }
    const validateStatus = c?.validateStatus;
    if (validateStatus !== undefined && validateStatus !== null && typeof validateStatus !== 'function') {
      throw new InvalidOptionsError(`${where} config: validateStatus must be a function or null`, {
        option: 'validateStatus',
      });
    }
    // get(), post()... pass their own upper-case method: only the request shapes need a check.
    const checked = shape === 'method' ? (methodName as string) : checkMethod(where, methodName);
    return { method: checked, url: target, data: body, config: c };
  }

  /** Throws unless `config` may be passed as `shape`; `where` names the call (`get()`). */
  check(config: unknown, where: string, shape: RequestConfigShape, hasData = false): void {
    if (typeof config !== 'object' || config === null || Array.isArray(config) || !isPlainObject(config)) {
      const got = config === null ? 'null' : Array.isArray(config) ? 'an array' : typeof config;
      const fix = typeof config === 'number' ? ': pass { deadlineMs: <milliseconds> } for a time limit' : '';
      throw new InvalidOptionsError(
        `${where} config must be an axios request config object ({ params, headers, ... }), got ${got}${fix}`,
        typeof config === 'number' ? { option: 'deadlineMs' } : { option: 'config' },
      );
    }
    for (const key in config) {
      if (!Object.hasOwn(config, key)) continue;
      if (this.#known.has(key)) {
        if (shape !== 'request' && (key === 'url' || key === 'method')) {
          throw new InvalidOptionsError(
            `${where} config: "${key}" is given by the call itself (${shape === 'positional' ? 'request(method, path, config)' : 'the method and its url argument'}); remove it from the config`,
            { option: key },
          );
        }
        if (key === 'baseURL') {
          throw new InvalidOptionsError(
            `${where} config: baseURL is the client's target ({ baseUrl } or { service, registry }), not a per-call option`,
            { option: key },
          );
        }
        if (key === 'data' && hasData) {
          throw new InvalidOptionsError(
            `${where} config: the body is the data argument; do not pass data in the config too`,
            { option: key },
          );
        }
        continue;
      }
      throw unknownKey(key, where, [...this.#known]);
    }
    checkConfigValues(config as Record<string, unknown>, where);
  }
}

function unknownKey(key: string, where: string, known: readonly string[]): InvalidOptionsError {
  const printable = key.length > 64 ? `${key.slice(0, 64)}...` : key;
  const name = JSON.stringify(printable);
  if (RETRIES.has(key)) {
    return new InvalidOptionsError(
      `${where} config: unknown option ${name}: retries are set on the client, not per call: new ServiceClient(target, { retry: { maxAttempts: 3 } }) (the design's retries: 3 is maxAttempts: 3, the first attempt included); a POST or PATCH is retried only with an idempotencyKey`,
      { option: printable, suggestion: 'retry.maxAttempts' },
    );
  }
  const suggestion = suggestOption(key, known, HINTS);
  if (suggestion !== undefined) {
    return new InvalidOptionsError(
      `${where} config: unknown option ${name} (did you mean "${suggestion}"?)`,
      {
        option: printable,
        suggestion,
      },
    );
  }
  const property = /^[A-Za-z_$][\w$]*$/.test(printable) ? printable : name;
  return new InvalidOptionsError(
    `${where} config: unknown option ${name}: the config is an axios request config plus idempotencyKey, deadlineMs, deadlineAt, attemptTimeoutMs. Query parameters go in params: { params: { ${property}: ... } }; keys your axios interceptors read go in the client's requestConfigKeys option (or use a Symbol key)`,
    { option: printable, suggestion: 'params' },
  );
}

/** An HTTP method name (an RFC 9110 token). */
const HTTP_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/;

/**
 * The method of a call, upper case; throws {@link InvalidArgumentError}
 * when it is not an HTTP method name (`request('/orders')` and other
 * mix-ups of the two `request` shapes).
 *
 * @internal
 */
export function checkMethod(where: string, method: unknown): string {
  if (typeof method !== 'string' || !HTTP_TOKEN.test(method)) {
    throw new InvalidArgumentError(
      `${where}: method must be an HTTP method such as 'get' or 'post' (request(config) takes an axios config; request(method, path, config) the design's shape)`,
      { argument: 'method' },
    );
  }
  return method.toUpperCase();
}
