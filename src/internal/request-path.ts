/**
 * @internal The path of an HTTP request target (`req.url`), without the
 * query or a fragment: origin-form `/orders?id=1` gives `/orders`;
 * absolute-form (RFC 9112 §3.2.2, which node accepts from any client)
 * `http://user:secret@host:8080/orders?id=1` gives `/orders`, never the
 * scheme, credentials or host (`/` when it has no path); the asterisk-form
 * `*` stays. What is recorded or matched as "the path" goes through here.
 *
 * @example
 * ```ts
 * span.setAttribute('url.path', requestPath(req.url ?? '/'));
 * ```
 */
export function requestPath(target: string): string {
  let end = target.indexOf('?');
  if (end === -1) end = target.length;
  const hash = target.indexOf('#');
  if (hash !== -1 && hash < end) end = hash;
  if (target.charCodeAt(0) === 47 /* '/' */) return target.slice(0, end);
  const scheme = target.indexOf('://');
  if (scheme === -1 || scheme > end) return target.slice(0, end);
  const slash = target.indexOf('/', scheme + 3);
  return slash === -1 || slash >= end ? '/' : target.slice(slash, end);
}
