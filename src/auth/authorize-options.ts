import type { Session, SessionReader } from '../contracts/session-reader.js';
import { optionsChecker } from '../internal/validate.js';
import type { Jwt } from './jwt.js';
import type { JwtClaims } from './jwt-claims.js';

/**
 * Options of {@link createAuthorizer} (and of the framework `authorize` middlewares).
 *
 * @example
 * ```ts
 * const options: AuthorizeOptions = { jwt, sessions, role: ['admin', 'support'] };
 * ```
 */
export interface AuthorizeOptions {
  /** Verifies `Authorization: Bearer <jwt>`. @default undefined (bearer tokens not accepted) */
  jwt?: Jwt;
  /**
   * Accepts a session id in a cookie as identity: a {@link SessionStore}, or
   * anything that reads sessions the same way ({@link SessionReader}).
   * @default undefined (cookies not accepted)
   */
  sessions?: SessionReader;
  /** Name of the session cookie. @default 'sid' */
  sessionCookie?: string;
  /**
   * Bearer tokens must carry a `sid` claim naming a live session of
   * `sessions` (checked, and touched, on each request): destroying the
   * session, or `destroyAllForUser`, then logs out its tokens too.
   * @default false
   */
  bindTokensToSessions?: boolean;
  /** Slide the session's expiry on each authorized request (one round trip either way). @default true */
  touchSession?: boolean;
  /** Claims of a session identity. @default `{ ...session.data, sub: session.userId, sid: session.id }` */
  sessionClaims?: (session: Session<unknown>) => JwtClaims;
  /** Required role: any of these. @default undefined (any authenticated caller) */
  role?: string | string[];
  /** The caller's roles. @default the `role` (string) and `roles` (string[]) claims */
  getRoles?: (claims: JwtClaims) => readonly string[];
  /** Extra check; false means 403. @default undefined */
  check?: (claims: JwtClaims, request: AuthorizeRequest) => boolean | Promise<boolean>;
  /** `realm` of the `WWW-Authenticate` challenge. @default 'api' */
  realm?: string;
}

/**
 * What the core needs from a request: its headers (lower-case names, as node gives them).
 *
 * @example
 * ```ts
 * await authorizer.decide({ headers: { authorization: `Bearer ${token}` } } satisfies AuthorizeRequest);
 * ```
 */
export interface AuthorizeRequest {
  /** Request headers. */
  headers: Record<string, string | string[] | undefined>;
}

/**
 * Defaults of {@link AuthorizeOptions}.
 *
 * @example
 * ```ts
 * AUTHORIZE_DEFAULTS.sessionCookie; // 'sid'
 * ```
 */
export const AUTHORIZE_DEFAULTS = {
  /** Name of the session cookie. */
  sessionCookie: 'sid',
  /** Tokens need not name a live session. */
  bindTokensToSessions: false,
  /** Session expiry slides on each request. */
  touchSession: true,
  /** Realm of the challenge. */
  realm: 'api',
} as const;

const AUTHORIZE_HINTS = {
  requiredRole: 'role',
  roles: 'role',
  cookie: 'sessionCookie',
  cookieName: 'sessionCookie',
  store: 'sessions',
  sessionStore: 'sessions',
  session: 'sessions',
  secret: 'jwt',
  verifier: 'jwt',
} as const;

/** @internal Refuses unknown keys of {@link AuthorizeOptions}. */
export const checkAuthorizeOptions = optionsChecker({
  where: 'authorize options',
  keys: [
    'jwt',
    'sessions',
    'sessionCookie',
    'bindTokensToSessions',
    'touchSession',
    'sessionClaims',
    'role',
    'getRoles',
    'check',
    'realm',
  ],
  hints: AUTHORIZE_HINTS,
});

/** @internal Refuses unknown keys of `authorizer.require()` requirements. */
export const checkRequirements = optionsChecker({
  where: 'authorizer.require() requirements',
  keys: ['role', 'check', 'getRoles'],
  hints: AUTHORIZE_HINTS,
});
