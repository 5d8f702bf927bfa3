import type { AxiosInstance, AxiosRequestConfig, AxiosResponse } from 'axios';
import type { AttemptSignal } from './attempt-signal.js';
import { joinUrl } from './request-url.js';

/** The statuses a redirect is followed on. @internal */
export const REDIRECTS: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
const BODY_HEADERS = ['content-type', 'content-length', 'content-encoding', 'transfer-encoding'];
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];

/**
 * Follows up to `limit` redirects of one attempt (own axios instance,
 * which never follows them itself), like a browser: 303, and 301/302
 * after a POST, go on as GET without a body; credentials are dropped when
 * the origin changes; only http(s) targets. Returns the last answer.
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
    if (crossOrigin) deleteHeaders(headers, CREDENTIAL_HEADERS);
    const nextRequest: AxiosRequestConfig = {
      ...request,
      url: next.href,
      baseURL: undefined,
      method,
      headers: headers as AxiosRequestConfig['headers'],
    };
    if (asGet) delete nextRequest.data;
    if (crossOrigin) delete nextRequest.auth;
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
