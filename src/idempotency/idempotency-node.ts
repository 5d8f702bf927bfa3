import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthContext } from '../auth/authorizer.js';
import { requestPath } from '../internal/request-path.js';
import { optionsChecker } from '../internal/validate.js';
import {
  type IdempotencyHttpDecision,
  type IdempotencyMiddlewareInput,
  idempotencyHttpHandler,
} from './http-idempotency.js';
import type { IdempotencyHttpOptions } from './http-options.js';

/**
 * What `idempotencyNode`'s guard may be told about a request that
 * node:http does not know by itself.
 *
 * @example
 * ```ts
 * const context: IdempotencyNodeContext = { auth, body: JSON.parse(raw), route: '/payments' };
 * ```
 */
export interface IdempotencyNodeContext {
  /** The caller, as `authorizeNode` resolved it: keys are scoped by its subject. */
  auth?: AuthContext | undefined;
  /** The request body you read (parsed or raw): part of the fingerprint. @default undefined (method and path only) */
  body?: unknown;
  /** The route template, for the scope. @default the path without its query */
  route?: string | undefined;
}

const checkContext = optionsChecker({
  where: 'idempotencyNode context',
  keys: ['auth', 'body', 'route'],
  hints: { user: 'auth', claims: 'auth', payload: 'body', data: 'body', path: 'route' },
});

/** @internal The key header's value(s), repeated ones kept apart where node tells them apart. */
export function keyHeaderOf(req: IncomingMessage | undefined, fallback: unknown, name: string): unknown {
  const distinct = (req as { headersDistinct?: Record<string, string[] | undefined> } | undefined)
    ?.headersDistinct;
  return distinct?.[name] ?? fallback;
}

/**
 * Idempotency keys for plain `node:http`: returns a guard that resolves to
 * `true` when the request may run (its response is then watched and kept
 * for replay), or answers the request itself and resolves to `false`: a
 * replay of the stored response (with `Idempotency-Replayed: true`), or a
 * problem (400 key missing or invalid, 409 in progress, 422 key reused with
 * another request). Store failures reject (fail closed).
 *
 * Read the body before calling the guard and pass it: it is part of the
 * request's fingerprint.
 *
 * @example
 * ```ts
 * const keys = new Idempotency({ adapter: redisIdempotencyStore({ connection: redis }) });
 * const guard = idempotencyNode(keys, { required: true });
 * createServer(async (req, res) => {
 *   const body = await readJson(req);
 *   if (!(await guard(req, res, { body }))) return;
 *   res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(await pay(body)));
 * });
 * ```
 */
export function idempotencyNode(
  input?: IdempotencyMiddlewareInput,
  options?: IdempotencyHttpOptions,
): (req: IncomingMessage, res: ServerResponse, context?: IdempotencyNodeContext) => Promise<boolean> {
  const handler = idempotencyHttpHandler(input, options);
  const name = handler.settings.header;
  return async (req, res, context) => {
    checkContext(context);
    const url = typeof req.url === 'string' ? req.url : '/';
    const decision = await handler.decide({
      method: req.method ?? '',
      path: url,
      route: context?.route ?? requestPath(url),
      headers: req.headers,
      body: context?.body,
      auth: context?.auth,
      keyHeader: keyHeaderOf(req, req.headers[name], name),
    });
    if (decision.action === 'pass') return true;
    if (decision.action === 'run') {
      decision.capture(res);
      return true;
    }
    sendDecision(res, decision);
    return false;
  };
}

/**
 * @internal Sends a `respond` decision (a replay or a problem) on a node
 * response: its status, its reason phrase when one was chosen, its headers
 * and body (node:http and Express).
 */
export function sendDecision(
  res: ServerResponse,
  decision: Extract<IdempotencyHttpDecision, { action: 'respond' }>,
): void {
  const { status, statusMessage, headers } = decision;
  const head =
    statusMessage === undefined
      ? res.writeHead(status, headers)
      : res.writeHead(status, statusMessage, headers);
  head.end(decision.body);
}
