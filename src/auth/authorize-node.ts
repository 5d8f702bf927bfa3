import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthorizeOptions } from './authorize-options.js';
import { type AuthContext, type Authorizer, toAuthorizer } from './authorizer.js';

/**
 * `authorize` for plain `node:http`: returns a function that resolves to
 * the caller's {@link AuthContext}, or answers the request with 401/403
 * itself and resolves to undefined.
 *
 * @example
 * ```ts
 * const guard = authorizeNode({ jwt, role: 'admin' });
 * createServer(async (req, res) => {
 *   const auth = await guard(req, res);
 *   if (!auth) return;
 *   res.end(`hello ${auth.claims.sub}`);
 * });
 * ```
 */
export function authorizeNode(
  options: AuthorizeOptions | Authorizer,
): (req: IncomingMessage, res: ServerResponse) => Promise<AuthContext | undefined> {
  const authorizer = toAuthorizer(options);
  return async (req, res) => {
    const decision = await authorizer.decide(req);
    if (decision.ok) return decision.auth;
    res.writeHead(decision.status, { ...decision.headers, 'content-type': 'application/json' });
    res.end(JSON.stringify(decision.body));
    return undefined;
  };
}
