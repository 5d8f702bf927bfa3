import type { UpstreamInstance } from '../contracts/upstream.js';
import { InvalidArgumentError } from '../errors.js';
import { hasControlCharacter } from '../internal/validate.js';

/**
 * What a {@link ServiceClient} does with an absolute URL given where a path
 * goes (`client.get('http://other-host/x')`):
 * - `'refuse'`: refused with `InvalidArgumentError`, whatever its origin;
 * - `'same-origin'`: sent when its origin (scheme, host, port) is the base
 *   URL's and it carries no credentials (a pagination link the upstream
 *   returned), refused otherwise. Only with a `{ baseUrl }` target.
 *
 * @example
 * ```ts
 * const policy: AbsoluteUrlPolicy = 'same-origin';
 * ```
 */
export type AbsoluteUrlPolicy = 'refuse' | 'same-origin';

/**
 * What is not a path on the upstream: leading whitespace; a scheme
 * (`http:`, `HTTP:`, `javascript:`, `data:`...); `//host` or any pair of
 * slashes and backslashes at the start (browsers and WHATWG URL read `/\host`
 * and `\\host` as `//host`); a leading backslash; a control character
 * anywhere (URL parsers drop tabs and newlines, so `\n//host` becomes
 * `//host`).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const NOT_A_PATH = /^(?:\s|[a-z][a-z\d+.-]*:|\\|\/[/\\])|[\u0000-\u001f\u007f]/i;

/** An absolute http(s) URL, as `'same-origin'` accepts and as instance URLs must start. */
const HTTP_URL = /^https?:\/\//i;

/**
 * True when `url` is a path (or path-relative reference, query, empty) on
 * the client's upstream: what is sent without a second look.
 *
 * @internal
 */
export function isUpstreamPath(url: string): boolean {
  return !NOT_A_PATH.test(url);
}

/**
 * Checks a URL that {@link isUpstreamPath} refused: returns it (normalised)
 * when `policy` is `'same-origin'` and it is an http(s) URL of `origin`
 * without credentials; throws {@link InvalidArgumentError} otherwise. The
 * message never echoes the URL (it may carry a token).
 *
 * @internal
 */
export function sameOriginUrl(url: string, policy: AbsoluteUrlPolicy, origin: string | undefined): string {
  if (policy === 'same-origin' && origin !== undefined && HTTP_URL.test(url) && !hasControlCharacter(url)) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (
      parsed !== undefined &&
      parsed.origin === origin &&
      parsed.username === '' &&
      parsed.password === ''
    ) {
      return parsed.href;
    }
    throw new InvalidArgumentError(
      `url must be a path on the upstream (like /items/42), or an absolute URL of its origin ${origin}: another origin, credentials in the URL, and anything not http(s) are refused`,
      { argument: 'url' },
    );
  }
  throw new InvalidArgumentError(
    'url must be a path on the upstream (like /items/42): absolute and protocol-relative URLs (a scheme, //host, a backslash), leading whitespace and control characters are refused, so a request never leaves the upstream it is charged to. ' +
      "For links the upstream itself returned, set absoluteUrls: 'same-origin' on a { baseUrl } client",
    { argument: 'url' },
  );
}

/** A query or fragment (a bare `?` or `#` included). */
const QUERY_OR_FRAGMENT = /[?#]/;

/**
 * Whether a registry or {@link UpstreamSource} handed out something the
 * client may send to: an object with a string `id` and an absolute http(s)
 * `url` without query or fragment. A `data:`, `file:` or `javascript:` URL
 * must never reach axios (axios answers `data:` URLs itself, without any
 * network); a query or fragment would take in the path of every call
 * (`${url}/items` puts `/items` into the query, or drops it with the
 * fragment).
 *
 * @internal
 */
export function isCallableInstance(instance: unknown): instance is UpstreamInstance {
  if (typeof instance !== 'object' || instance === null) return false;
  const { id, url } = instance as { id?: unknown; url?: unknown };
  return (
    typeof id === 'string' &&
    typeof url === 'string' &&
    HTTP_URL.test(url) &&
    !hasControlCharacter(url) &&
    !QUERY_OR_FRAGMENT.test(url)
  );
}

/**
 * `path` on `base` (one slash between them), or `path` itself when it is
 * an absolute http(s) URL.
 *
 * @internal
 */
export function joinUrl(base: string, path: string): string {
  if (/^https?:\/\//i.test(path)) return path;
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}
