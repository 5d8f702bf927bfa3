import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthContext } from '../auth/authorizer.js';
import { type RateLimitMiddlewareOptions, rateLimitHandler } from './rate-limit-middleware.js';

/**
 * `rateLimit` for plain `node:http`: returns a function that resolves to
 * `true` when the request may go on (after setting the `RateLimit-Policy`
 * and `RateLimit` headers), or answers 429 itself (`Retry-After`, the
 * same headers, a JSON body) and resolves to `false`. Keyed by the socket's
 * peer address, by the subject of the `auth` you pass (what `authorizeNode`
 * resolved to), or by your function. Limiter failures reject.
 *
 * @example
 * ```ts
 * const guard = authorizeNode({ jwt });
 * const limit = rateLimitNode({ limiter, key: 'subject' });
 * createServer(async (req, res) => {
 *   const auth = await guard(req, res);
 *   if (!auth || !(await limit(req, res, auth))) return;
 *   res.end('ok');
 * });
 * ```
 */
export function rateLimitNode(
  options: RateLimitMiddlewareOptions<IncomingMessage>,
): (req: IncomingMessage, res: ServerResponse, auth?: AuthContext) => Promise<boolean> {
  const handle = rateLimitHandler(options);
  return async (req, res, auth) => {
    const answer = await handle(req, { ip: req.socket?.remoteAddress, auth, response: res });
    if (answer === undefined) return true;
    // setHeader rather than writeHead's object: the fields stay readable (res.getHeader) to later code.
    if (!res.headersSent)
      for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
    if (answer.allowed) return true;
    res.statusCode = answer.status;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(answer.body));
    return false;
  };
}
