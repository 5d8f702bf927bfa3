/**
 * `url.full` for a span: the URL with its credentials replaced by
 * `REDACTED` (as the HTTP conventions require), the values of query
 * parameters that may hold secrets replaced by `REDACTED` (the conventions'
 * list, `AWSAccessKeyId`, `Signature`, `sig`, `X-Goog-Signature`, and any
 * name that looks like a password, token, key, secret, signature, session,
 * one-time code, PIN, ticket or nonce), parameters split at `&` and at the
 * `;` some servers also take, and no fragment.
 *
 * @module
 */

/** Query parameter names whose values never go into a span. */
const SECRET_PARAM =
  /pass|pwd|secret|token|key|auth|sig|session|credential|code|jwt|cookie|bearer|ticket|hmac|nonce|refresh|(?:^|[^a-z])(?:otp|pin)(?:[^a-z]|$)/i;

/**
 * The URL of `path` on `base` as a span may show it, or `undefined` when it
 * does not parse.
 *
 * @example
 * ```ts
 * spanUrl('http://u:p@127.0.0.1:4001', '/items?sku=1&token=abc'); // 'http://REDACTED:REDACTED@127.0.0.1:4001/items?sku=1&token=REDACTED'
 * ```
 *
 * @internal
 */
export function spanUrl(base: string | undefined, path: string): string | undefined {
  let url: URL;
  try {
    url = base === undefined ? new URL(path) : new URL(path, base);
  } catch {
    return undefined;
  }
  if (url.username !== '' || url.password !== '') {
    url.username = 'REDACTED';
    url.password = 'REDACTED';
  }
  url.hash = '';
  const query = url.search;
  if (query.length > 1) {
    // Split at '&' and ';', the separators kept (odd indexes): `a=1;token=x` holds a token too.
    const parts = query.slice(1).split(/([&;])/);
    for (let i = 0; i < parts.length; i += 2) {
      const part = parts[i]!;
      const eq = part.indexOf('=');
      const rawName = eq === -1 ? part : part.slice(0, eq);
      let name: string;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      } catch {
        name = rawName;
      }
      if (SECRET_PARAM.test(name)) parts[i] = `${rawName}=REDACTED`;
    }
    url.search = `?${parts.join('')}`;
  }
  return url.href;
}
