import type { Session } from '../contracts/session-reader.js';
import { InvalidArgumentError, InvalidOptionsError, isScaleoutError, JwtError } from '../errors.js';
import {
  AUTHORIZE_DEFAULTS,
  type AuthorizeOptions,
  type AuthorizeRequest,
  checkAuthorizeOptions,
  checkRequirements,
} from './authorize-options.js';
import type { JwtClaims } from './jwt-claims.js';

/**
 * Who the caller is, once authorized.
 *
 * @example
 * ```ts
 * const auth: AuthContext = { claims: { sub: 'u1' }, source: 'bearer', token: '...' };
 * ```
 */
export interface AuthContext {
  /** Verified claims (a session's claims for cookie identity). */
  claims: Readonly<JwtClaims>;
  /** Where the identity came from. */
  source: 'bearer' | 'session';
  /** The bearer token, for `source: 'bearer'`. */
  token?: string;
  /** The session, for `source: 'session'`. */
  session?: Session<unknown>;
}

/**
 * The outcome of {@link Authorizer.decide}: allowed with the caller's
 * {@link AuthContext}, or denied with the status and headers to answer.
 *
 * @example
 * ```ts
 * const decision = await authorizer.decide(req);
 * if (!decision.ok) return res.writeHead(decision.status, decision.headers).end(JSON.stringify(decision.body));
 * ```
 */
export type AuthDecision =
  | {
      /** Allowed. */
      ok: true;
      /** Who the caller is. */
      auth: AuthContext;
    }
  | {
      /** Denied. */
      ok: false;
      /** 401: not (validly) authenticated; 403: authenticated but not allowed. */
      status: 401 | 403;
      /** Always holds `www-authenticate`. */
      headers: Record<string, string>;
      /** A JSON body to answer with (RFC 6750 error names). */
      body: {
        /** The RFC 6750 error (`unauthorized` when no credentials were sent). */
        error: 'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'unauthorized';
        /** Why, in words; never contains the token. */
        error_description: string;
      };
      /** The typed error code behind a 401, when there is one. */
      code?: string;
    };

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * The one value of the Authorization header: undefined when absent, ''
 * (malformed, a 401) when it is repeated (RFC 9110 allows one) or not text.
 */
function authorizationValue(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.length === 1 && typeof value[0] === 'string' ? value[0] : '';
  return typeof value === 'string' ? value : '';
}

/** The Cookie header as one string (repeated headers joined, as node does). */
function cookieValue(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.filter((v) => typeof v === 'string').join('; ');
  return undefined;
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined || header.length > 16_384) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1 || part.slice(0, eq).trim() !== name) continue;
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    try {
      return decodeURIComponent(value);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function quote(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').replace(/["\\]/g, "'");
}

/**
 * Errors that say a stored session is unreadable (foreign or damaged
 * record): the caller is asked to sign in again (401) instead of failing
 * every request carrying that cookie with a 500 until it expires. The
 * record is left as it is.
 */
const UNREADABLE_SESSION = ['ERR_CORRUPT_DATA', 'ERR_DESERIALIZE', 'ERR_UNSAFE_PAYLOAD'] as const;

function isUnreadableSession(err: unknown): boolean {
  return UNREADABLE_SESSION.some((code) => isScaleoutError(err, code));
}

function expectFunction(options: AuthorizeOptions, name: keyof AuthorizeOptions): void {
  if (options[name] !== undefined && typeof options[name] !== 'function') {
    throw new InvalidOptionsError(`${name} must be a function`, { option: name });
  }
}

function hasMethods(value: unknown, ...methods: string[]): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    methods.every((m) => typeof (value as Record<string, unknown>)[m] === 'function')
  );
}

function defaultRoles(claims: JwtClaims): readonly string[] {
  const roles: string[] = [];
  if (typeof claims.role === 'string') roles.push(claims.role);
  if (Array.isArray(claims.roles)) for (const r of claims.roles) if (typeof r === 'string') roles.push(r);
  return roles;
}

/**
 * The framework-free core of `authorize`: headers in; the caller's claims
 * or a 401/403 decision (with its `WWW-Authenticate` challenge) out. The
 * Express, Fastify, Koa and node:http adapters are thin wrappers over it.
 *
 * - `Authorization: Bearer <jwt>` is verified with the `jwt` option; a
 *   malformed header or a bad token is a 401 (the token is never echoed);
 * - otherwise a session cookie (`sessions` option) is looked up and touched;
 * - then `role` and `check` decide: false is a 403 `insufficient_scope`.
 *
 * Failures of a back end (Redis down while checking the denylist or a
 * session) are thrown, not turned into a decision: the request fails closed
 * with the framework's error handling.
 *
 * @example
 * ```ts
 * const auth = createAuthorizer({ jwt, sessions });
 * const admins = auth.require({ role: 'admin' });
 * const decision = await admins.decide({ headers: req.headers });
 * ```
 */
export class Authorizer {
  readonly #options: AuthorizeOptions;
  readonly #cookie: string;
  readonly #realm: string;
  readonly #roles: readonly string[] | undefined;

  constructor(options: AuthorizeOptions) {
    if (typeof options === 'string' || Array.isArray(options)) {
      // The design's authorize(requiredRole).
      throw new InvalidOptionsError(
        "authorize takes options, not a role: authorize({ jwt, role: 'admin' }) (the design's authorize(requiredRole))",
        { option: 'role' },
      );
    }
    checkAuthorizeOptions(options);
    if (
      typeof options !== 'object' ||
      options === null ||
      (options.jwt === undefined && options.sessions === undefined)
    ) {
      throw new InvalidOptionsError('authorize needs a jwt or a sessions option', { option: 'jwt' });
    }
    if (
      options.bindTokensToSessions === true &&
      (options.sessions === undefined || options.jwt === undefined)
    ) {
      throw new InvalidOptionsError('bindTokensToSessions needs both jwt and sessions', {
        option: 'bindTokensToSessions',
      });
    }
    if (options.jwt !== undefined && !hasMethods(options.jwt, 'verify')) {
      throw new InvalidOptionsError('jwt must be a Jwt (createJwt({ secret }))', { option: 'jwt' });
    }
    if (options.sessions !== undefined && !hasMethods(options.sessions, 'get', 'touch')) {
      throw new InvalidOptionsError('sessions must be a SessionStore (or a SessionReader: get and touch)', {
        option: 'sessions',
      });
    }
    for (const name of ['sessionClaims', 'getRoles', 'check'] as const) expectFunction(options, name);
    for (const name of ['bindTokensToSessions', 'touchSession'] as const) {
      if (options[name] !== undefined && typeof options[name] !== 'boolean') {
        throw new InvalidOptionsError(`${name} must be a boolean`, { option: name });
      }
    }
    if (options.realm !== undefined && typeof options.realm !== 'string') {
      throw new InvalidOptionsError('realm must be a string', { option: 'realm' });
    }
    this.#options = options;
    this.#cookie = options.sessionCookie ?? AUTHORIZE_DEFAULTS.sessionCookie;
    if (typeof this.#cookie !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(this.#cookie)) {
      throw new InvalidOptionsError('sessionCookie must be a valid cookie name', { option: 'sessionCookie' });
    }
    this.#realm = quote(options.realm ?? AUTHORIZE_DEFAULTS.realm);
    const role = options.role;
    this.#roles = role === undefined ? undefined : Array.isArray(role) ? [...role] : [role];
    if (
      this.#roles !== undefined &&
      (this.#roles.length === 0 || this.#roles.some((r) => typeof r !== 'string'))
    ) {
      throw new InvalidOptionsError('role must be a string or a non-empty list of strings', {
        option: 'role',
      });
    }
  }

  /**
   * A new authorizer with the same identity sources and other requirements.
   *
   * @example
   * ```ts
   * app.delete('/users/:id', authorize(auth.require({ role: 'admin' })), handler);
   * ```
   */
  require(requirements: Pick<AuthorizeOptions, 'role' | 'check' | 'getRoles'>): Authorizer {
    if (typeof requirements === 'string') {
      throw new InvalidOptionsError("require takes requirements: auth.require({ role: 'admin' })", {
        option: 'role',
      });
    }
    checkRequirements(requirements);
    if (requirements === undefined) {
      throw new InvalidOptionsError('require needs { role } or { check }', { option: 'role' });
    }
    return new Authorizer({ ...this.#options, ...requirements });
  }

  /**
   * Decides on one request.
   *
   * @example
   * ```ts
   * const decision = await authorizer.decide({ headers: req.headers });
   * ```
   */
  async decide(request: AuthorizeRequest): Promise<AuthDecision> {
    const headers = (request as { headers?: unknown } | null | undefined)?.headers;
    if (typeof headers !== 'object' || headers === null) {
      throw new InvalidArgumentError('decide needs a request with headers', { argument: 'request' });
    }
    const authorization = authorizationValue(request.headers.authorization);
    let auth: AuthContext | undefined;
    if (authorization !== undefined && this.#options.jwt !== undefined) {
      const match = authorization.length <= 65_536 ? BEARER.exec(authorization) : null;
      if (match === null) {
        return this.#deny(401, 'invalid_request', 'Authorization header must be "Bearer <token>"');
      }
      const token = match[1]!;
      try {
        auth = { claims: await this.#options.jwt.verify(token), source: 'bearer', token };
      } catch (err) {
        if (err instanceof JwtError || isScaleoutError(err, 'ERR_INVALID_ARGUMENT')) {
          const e = err as JwtError;
          return this.#deny(401, 'invalid_token', e.message, e.code);
        }
        throw err;
      }
      if (this.#options.bindTokensToSessions ?? AUTHORIZE_DEFAULTS.bindTokensToSessions) {
        const sid = auth.claims.sid;
        if (typeof sid !== 'string')
          return this.#deny(401, 'invalid_token', 'token is not bound to a session');
        let session: Session<unknown> | undefined;
        try {
          session = await this.#session(sid);
        } catch (err) {
          if (!isUnreadableSession(err)) throw err;
          return this.#deny(
            401,
            'invalid_token',
            'the session of this token is unreadable',
            (err as JwtError).code,
          );
        }
        if (session === undefined)
          return this.#deny(401, 'invalid_token', 'the session of this token has ended');
        auth.session = session;
      }
    } else if (this.#options.sessions !== undefined) {
      const id = readCookie(cookieValue(request.headers.cookie), this.#cookie);
      if (id !== undefined) {
        let session: Session<unknown> | undefined;
        try {
          session = await this.#session(id);
        } catch (err) {
          if (!isUnreadableSession(err)) throw err;
          return this.#deny(401, 'invalid_token', 'session is unreadable', (err as JwtError).code);
        }
        if (session === undefined) return this.#deny(401, 'invalid_token', 'session is missing or expired');
        const claims = this.#options.sessionClaims?.(session) ?? {
          ...(typeof session.data === 'object' && session.data !== null ? session.data : {}),
          sub: session.userId,
          sid: session.id,
        };
        auth = { claims, source: 'session', session };
      }
    }
    if (auth === undefined) return this.#deny(401, 'unauthorized', 'authentication required');
    if (this.#roles !== undefined) {
      const have = (this.#options.getRoles ?? defaultRoles)(auth.claims);
      if (!Array.isArray(have)) {
        throw new InvalidOptionsError('getRoles must return a list of strings', { option: 'getRoles' });
      }
      if (!this.#roles.some((r) => have.includes(r))) {
        return this.#deny(403, 'insufficient_scope', `requires role ${this.#roles.join(' or ')}`);
      }
    }
    if (this.#options.check !== undefined && !(await this.#options.check(auth.claims, request))) {
      return this.#deny(403, 'insufficient_scope', 'access denied');
    }
    return { ok: true, auth };
  }

  #session(id: string): Promise<Session<unknown> | undefined> {
    const store = this.#options.sessions!;
    return (this.#options.touchSession ?? AUTHORIZE_DEFAULTS.touchSession) ? store.touch(id) : store.get(id);
  }

  #deny(
    status: 401 | 403,
    error: 'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'unauthorized',
    description: string,
    code?: string,
  ): AuthDecision {
    // RFC 6750: no error attribute when the request carried no credentials.
    const challenge =
      error === 'unauthorized'
        ? `Bearer realm="${this.#realm}"`
        : `Bearer realm="${this.#realm}", error="${error}", error_description="${quote(description)}"`;
    return {
      ok: false,
      status,
      headers: { 'www-authenticate': challenge },
      body: { error, error_description: description },
      ...(code === undefined ? {} : { code }),
    };
  }
}

/**
 * Creates an {@link Authorizer}.
 *
 * @example
 * ```ts
 * const auth = createAuthorizer({ jwt: createJwt({ secret }), role: 'admin' });
 * ```
 */
export function createAuthorizer(options: AuthorizeOptions): Authorizer {
  return new Authorizer(options);
}

/** @internal */
export function toAuthorizer(input: AuthorizeOptions | Authorizer): Authorizer {
  return input instanceof Authorizer ? input : new Authorizer(input);
}
