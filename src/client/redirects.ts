import type { AxiosInstance, AxiosRequestConfig, AxiosResponse } from 'axios';
import type { AttemptSignal } from './attempt-signal.js';
import { joinUrl } from './request-url.js';

/** The statuses a redirect is followed on. @internal */
export const REDIRECTS: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
const BODY_HEADERS = ['content-type', 'content-length', 'content-encoding', 'transfer-encoding'];
/** Headers never sent to another origin (lower case), besides those a config names in `sensitiveHeaders`. */
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];
/** axios' header buckets: `common`, then one per method, merged into every request of that method. */
const HEADER_BUCKETS = new Set([
  'common',
  'delete',
  'get',
  'head',
  'options',
  'post',
  'put',
  'patch',
  'purge',
  'link',
  'unlink',
]);

/**
 * Follows up to `limit` redirects of one attempt (own axios instance,
 * which never follows them itself), like a browser: 303, and 301/302
 * after a POST, go on as GET without a body; credentials are dropped when
 * the origin changes (see {@link withoutCredentials}); only http(s)
 * targets. Returns the last answer.
 * `isDirect(protocol)` tells whether no proxy variable applies (then the
 * next request goes without axios' proxy lookup, when `envProxy`).
 *
 * @internal
 */
export async function followRedirects(
  axios: AxiosInstance,
  first: AxiosRequestConfig,
  response: AxiosResponse,
  limit: number,
  envProxy: boolean,
  signal: AttemptSignal,
  isDirect: (url: string) => boolean,
): Promise<AxiosResponse> {
  let request = first;
  let current = response;
  let at: URL;
  try {
    at = new URL(joinUrl(first.baseURL ?? '', first.url ?? ''));
  } catch {
    return response;
  }
  for (let n = 0; n < limit && REDIRECTS.has(current.status); n++) {
    const location = (current.headers as Record<string, unknown>).location;
    if (typeof location !== 'string' || location === '') return current;
    let next: URL;
    try {
      next = new URL(location, at);
    } catch {
      return current;
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') return current;
    const headers = { ...(request.headers as Record<string, unknown> | undefined) };
    let method = String(request.method ?? 'GET').toUpperCase();
    const status = current.status;
    const asGet =
      status === 303 ? method !== 'HEAD' : (status === 301 || status === 302) && method === 'POST';
    if (asGet) {
      method = 'GET';
      deleteHeaders(headers, BODY_HEADERS);
    }
    const crossOrigin = next.origin !== at.origin;
    if (crossOrigin) withoutCredentials(headers, sensitiveHeaders(request, axios.defaults));
    const nextRequest: AxiosRequestConfig = {
      ...request,
      url: next.href,
      baseURL: undefined,
      method,
      headers: headers as AxiosRequestConfig['headers'],
    };
    if (asGet) delete nextRequest.data;
    // null, not absent: axios would fill an absent `auth` from the instance's defaults.
    if (crossOrigin) nextRequest.auth = null as unknown as AxiosRequestConfig['auth'];
    if (envProxy) {
      if (isDirect(next.protocol)) nextRequest.proxy = false;
      else delete nextRequest.proxy;
    }
    request = nextRequest;
    at = next;
    // A streamed 3xx body is drained so its keep-alive socket goes back to the pool.
    const body = current.data as { resume?: () => void } | undefined;
    if (typeof body?.resume === 'function') body.resume();
    current = await signal.race(axios.request(request));
  }
  return current;
}

function deleteHeaders(headers: Record<string, unknown>, names: readonly string[]): void {
  for (const key of Object.keys(headers)) {
    if (names.includes(key.toLowerCase())) delete headers[key];
  }
}

/**
 * The headers of a request that goes on to another origin: each of `names`
 * (lower case) removed from the request's own headers, its `common` and
 * per-method buckets included, and set to `false`, which tells axios not
 * to send it at all: axios merges the instance's header defaults (where
 * `axios.defaults.headers` of the process were copied when the instance was
 * created) into every request after this, and `false` is the one value that
 * overrides a default.
 */
function withoutCredentials(headers: Record<string, unknown>, names: readonly string[]): void {
  deleteHeaders(headers, names);
  for (const [key, bucket] of Object.entries(headers)) {
    if (!HEADER_BUCKETS.has(key.toLowerCase()) || typeof bucket !== 'object' || bucket === null) continue;
    const copy = { ...(bucket as Record<string, unknown>) };
    deleteHeaders(copy, names);
    headers[key] = copy;
  }
  for (const name of names) headers[name] = false;
}

/**
 * The credential headers (lower case) of `request` sent through an instance
 * with `defaults`: Authorization, Cookie, Proxy-Authorization, and the
 * names in axios' `sensitiveHeaders` of the request or the instance.
 */
function sensitiveHeaders(
  request: { sensitiveHeaders?: unknown },
  defaults: { sensitiveHeaders?: unknown },
): readonly string[] {
  const extra = [request.sensitiveHeaders, defaults.sensitiveHeaders].flatMap((list) =>
    Array.isArray(list) ? list.filter((name): name is string => typeof name === 'string') : [],
  );
  if (extra.length === 0) return CREDENTIAL_HEADERS;
  return [...new Set([...CREDENTIAL_HEADERS, ...extra.map((name) => name.toLowerCase())])];
}
