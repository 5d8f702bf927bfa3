import type { AuthContext } from '../auth/authorizer.js';
import { optionsChecker } from '../internal/validate.js';
import { IDEMPOTENCY_OPTION_HINTS, IDEMPOTENCY_OPTION_KEYS } from './idempotency-options.js';

/**
 * What the idempotency middleware reads from a request, whatever the
 * framework.
 *
 * @example
 * ```ts
 * const scope = (r: IdempotencyRequestFacts) => String(r.headers['x-tenant'] ?? '');
 * ```
 */
export interface IdempotencyRequestFacts {
  /** The method, upper case. */
  readonly method: string;
  /** The path with its query string (part of the fingerprint). */
  readonly path: string;
  /** The route template when the framework knows it, else the path without query (part of the scope). */
  readonly route: string;
  /** The request headers (lower-case names). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The body as the body parser left it (object, string, Buffer), or undefined. */
  readonly body: unknown;
  /** Who is calling, when `authorize` ran before. */
  readonly auth: AuthContext | undefined;
}

/**
 * Options of the HTTP middleware (`idempotencyNode`, and `idempotency` from
 * `scaleout/express`, `scaleout/fastify`, `scaleout/koa`). All optional.
 *
 * @example
 * ```ts
 * app.post('/payments', idempotency(keys, { required: true, storedHeaders: ['content-type', 'location'] }), pay);
 * ```
 */
export interface IdempotencyHttpOptions {
  /** The request header carrying the key. @default 'Idempotency-Key' */
  header?: string;
  /**
   * Refuse a request without a key with 400 and a problem body (the
   * draft's answer for an operation documented as requiring one).
   * @default false (a request without a key runs as usual, unprotected)
   */
  required?: boolean;
  /** Methods the middleware acts on; others pass through. @default ['POST', 'PATCH'] */
  methods?: readonly string[];
  /** Longest key accepted, in characters (1 to 1024). @default 255 */
  maxKeyLength?: number;
  /**
   * Response headers kept and replayed (lower-case). `Set-Cookie` and
   * hop-by-hop headers are never kept.
   * @default ['content-type', 'content-language', 'content-location', 'location', 'etag', 'last-modified', 'cache-control']
   */
  storedHeaders?: readonly string[];
  /** `type` of the problem bodies and target of their `Link: rel="describedby"`. @default the IETF draft's URL */
  docsUrl?: string;
  /**
   * Who a key belongs to: keys of two scopes never meet. Its string (or
   * undefined for "anonymous") joins the route in the scope.
   * @default the authenticated subject (`claims.sub` of `authorize`)
   */
  scope?: (request: IdempotencyRequestFacts) => string | undefined;
  /** How long responses of this route are kept, in ms. @default the Idempotency's ttlMs */
  ttlMs?: number;
}

/**
 * Defaults of {@link IdempotencyHttpOptions}.
 *
 * @example
 * ```ts
 * idempotency(keys, { storedHeaders: [...IDEMPOTENCY_HTTP_DEFAULTS.storedHeaders, 'x-order-id'] });
 * ```
 */
export const IDEMPOTENCY_HTTP_DEFAULTS = Object.freeze({
  /** The draft's header. */
  header: 'Idempotency-Key',
  /** Keys are optional. */
  required: false,
  /** The methods that are not idempotent by themselves. */
  methods: Object.freeze(['POST', 'PATCH']) as readonly string[],
  /** Stripe's limit. */
  maxKeyLength: 255,
  /** Headers that describe the response; never cookies or per-connection headers. */
  storedHeaders: Object.freeze([
    'content-type',
    'content-language',
    'content-location',
    'location',
    'etag',
    'last-modified',
    'cache-control',
  ]) as readonly string[],
});

/** The keys of {@link IdempotencyHttpOptions}. */
export const IDEMPOTENCY_HTTP_OPTION_KEYS = [
  'header',
  'required',
  'methods',
  'maxKeyLength',
  'storedHeaders',
  'docsUrl',
  'scope',
  'ttlMs',
] as const;

const HTTP_HINTS = {
  headerName: 'header',
  keyHeader: 'header',
  require: 'required',
  requireKey: 'required',
  method: 'methods',
  maxLength: 'maxKeyLength',
  keyMaxLength: 'maxKeyLength',
  headers: 'storedHeaders',
  responseHeaders: 'storedHeaders',
  keepHeaders: 'storedHeaders',
  problemType: 'docsUrl',
  docs: 'docsUrl',
  subject: 'scope',
  key: 'scope',
} as const;

/** @internal Refuses unknown keys of {@link IdempotencyHttpOptions}. */
export const checkHttpOptions = optionsChecker({
  where: 'idempotency middleware options',
  keys: IDEMPOTENCY_HTTP_OPTION_KEYS,
  hints: { ...IDEMPOTENCY_OPTION_HINTS, ...HTTP_HINTS },
  bareNumber: 'ttlMs',
});

/** @internal Refuses unknown keys of the one-object form: Idempotency and middleware options together. */
export const checkCombinedOptions = optionsChecker({
  where: 'idempotency middleware options',
  keys: [...IDEMPOTENCY_OPTION_KEYS, ...IDEMPOTENCY_HTTP_OPTION_KEYS.filter((k) => k !== 'ttlMs')],
  hints: { ...IDEMPOTENCY_OPTION_HINTS, ...HTTP_HINTS },
  bareNumber: 'ttlMs',
});
