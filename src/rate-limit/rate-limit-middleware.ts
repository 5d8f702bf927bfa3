import { createHash } from 'node:crypto';
import type { AuthContext } from '../auth/authorizer.js';
import { InvalidArgumentError, InvalidOptionsError } from '../errors.js';
import { hasControlCharacter, isWellFormed, optionsChecker } from '../internal/validate.js';
import type { RateLimitDecision } from './rate-limit-decision.js';
import { rateLimitHeaders } from './rate-limit-headers.js';
import { checkIpv6Subnet, ipKeyOf } from './rate-limit-ip-key.js';
import type { RateLimiter } from './rate-limiter.js';

/**
 * Options of the `rateLimit` middlewares (node:http, Express, Fastify,
 * Koa). `R` is the framework's request (the Koa context for Koa).
 *
 * @example
 * ```ts
 * const options: RateLimitMiddlewareOptions<IncomingMessage> = { limiter, key: 'subject' };
 * ```
 */
export interface RateLimitMiddlewareOptions<R> {
  /** The limiter that decides. Required. */
  limiter: RateLimiter;
  /**
   * What a request is counted under:
   * - `'ip'`: the client address (`ip:<address>`; the framework's own
   *   reading, so Express/Fastify/Koa `trust proxy` settings apply; plain
   *   node:http uses the socket's peer address); an IPv6 client by its
   *   `ipv6Subnet` block (`ip:2001:db8:0:1200::/56`, see `rateLimitIpKey`);
   * - `'subject'`: the authenticated subject, `authorize`'s
   *   `claims.sub` (`sub:<subject>`); place the limiter after `authorize`.
   *   A request without one is counted by IP;
   * - a function: its string, or `undefined` to let the request through uncounted.
   * @default 'ip'
   */
  key?: 'ip' | 'subject' | ((request: R) => string | undefined | Promise<string | undefined>);
  /** Units a request takes: a number, or a function of the request. @default 1 */
  cost?: number | ((request: R) => number);
  /** Send `RateLimit-Policy` and `RateLimit` on every answer, not only on a 429. @default true */
  headers?: boolean;
  /**
   * For `key: 'ip'` (and `'subject'` without one): the IPv6 prefix length,
   * 1 to 128, whose addresses count as one client. One IPv6 client can use
   * any address of its /64 (most get a /56 or a /48), so counting each
   * address alone would let it past any limit; 128 does that anyway.
   * @default 56
   */
  ipv6Subnet?: number;
  /**
   * Gives an allowed request's units back once its response has been
   * sent, when this returns `true` for it: `({ statusCode }) => statusCode
   * < 400` counts only failed requests (failed logins, say), `>= 400` only
   * successful ones. A response that never finishes (the client went away)
   * keeps its count. A refund that fails is reported by the limiter's
   * `error` event, never thrown into the response.
   */
  refundWhen?: (response: RateLimitResponseOutcome, request: R) => boolean;
}

/**
 * What {@link RateLimitMiddlewareOptions.refundWhen} sees of a finished response.
 *
 * @example
 * ```ts
 * const countFailuresOnly = ({ statusCode }: RateLimitResponseOutcome) => statusCode < 400;
 * ```
 */
export interface RateLimitResponseOutcome {
  /** The status code sent. */
  readonly statusCode: number;
}

/**
 * The part of node's `ServerResponse` the middleware core watches for
 * `refundWhen` (Express's `res`, Fastify's `reply.raw`, Koa's `ctx.res`).
 *
 * @example
 * ```ts
 * const response: RateLimitResponseLike = res; // an http.ServerResponse
 * ```
 */
export interface RateLimitResponseLike {
  /** The status code, read once the response has finished. */
  readonly statusCode: number;
  /** Subscribes once to `finish` (the response was handed to the OS). */
  once(event: 'finish', listener: () => void): unknown;
}

/**
 * What the middleware core needs from a request, read by each framework's wrapper.
 *
 * @example
 * ```ts
 * const facts: RateLimitRequestFacts = { ip: req.socket.remoteAddress, auth: undefined };
 * ```
 */
export interface RateLimitRequestFacts {
  /** The client address as the framework sees it. */
  readonly ip: string | undefined;
  /** The caller's identity, when `authorize` ran before. */
  readonly auth: AuthContext | undefined;
  /** The response, watched when `refundWhen` is set (required then). */
  readonly response?: RateLimitResponseLike | undefined;
}

/**
 * The core's answer for one request: let it through (with headers to
 * set), or answer 429 (with headers and a JSON body). `undefined`: the key
 * function skipped it.
 *
 * @example
 * ```ts
 * const answer = await handle(req, facts);
 * if (answer && !answer.allowed) res.writeHead(answer.status, answer.headers).end(JSON.stringify(answer.body));
 * ```
 */
export type RateLimitAnswer =
  | {
      /** Allowed. */
      readonly allowed: true;
      /** The decision. */
      readonly decision: RateLimitDecision;
      /** Headers to set (empty with `headers: false`). */
      readonly headers: Record<string, string>;
    }
  | {
      /** Denied. */
      readonly allowed: false;
      /** The decision. */
      readonly decision: RateLimitDecision;
      /** Always 429 (Too Many Requests). */
      readonly status: 429;
      /** `retry-after`, `ratelimit-policy`, `ratelimit`. */
      readonly headers: Record<string, string>;
      /** The JSON body. */
      readonly body: {
        /** Always `rate_limited`. */
        readonly error: 'rate_limited';
        /** In words. */
        readonly message: string;
        /** Ms to wait. */
        readonly retryAfterMs: number;
      };
    };

const checkOptions = optionsChecker({
  where: 'rateLimit middleware options',
  keys: ['limiter', 'key', 'cost', 'headers', 'ipv6Subnet', 'refundWhen'],
  hints: {
    keyGenerator: 'key',
    by: 'key',
    rateLimiter: 'limiter',
    standardHeaders: 'headers',
    subnet: 'ipv6Subnet',
    skipSuccessfulRequests: 'refundWhen',
    skipFailedRequests: 'refundWhen',
    requestWasSuccessful: 'refundWhen',
  },
});

/**
 * The client as counted: an IPv4 address (`::ffff:10.0.0.7`, an IPv4
 * client on a dual-stack socket, reads as `10.0.0.7`), an IPv6 address's
 * `subnet` block, or `unknown`.
 */
function clientAddress(ip: string | undefined, subnet: number): string {
  if (typeof ip !== 'string' || ip === '') return 'unknown';
  return ipKeyOf(ip, subnet);
}

/**
 * `<kind>:<value>`, or `<kind>#<digest>` for a value a key cannot hold as
 * it is (longer than 200 characters, or with control characters), or
 * `<kind>!<digest>` for one with a lone surrogate (digested as UTF-16: its
 * UTF-8 form would be U+FFFD, shared with other values): a subject claim
 * or a forwarded address comes from the client, and must not turn into an
 * error answer.
 */
function requestKey(kind: 'ip' | 'sub', value: string): string {
  const wellFormed = isWellFormed(value);
  if (value.length <= 200 && !hasControlCharacter(value) && wellFormed) return `${kind}:${value}`;
  if (!wellFormed) return `${kind}!${createHash('sha256').update(value, 'utf16le').digest('base64url')}`;
  return `${kind}#${createHash('sha256').update(value).digest('base64url')}`;
}

function subjectOf(auth: AuthContext | undefined): string | undefined {
  const sub = auth?.claims?.sub;
  if (typeof sub === 'string' && sub !== '') return sub;
  return typeof sub === 'number' && Number.isFinite(sub) ? String(sub) : undefined;
}

/**
 * Builds the framework-free core of the `rateLimit` middlewares: request in,
 * {@link RateLimitAnswer} out. Failures of the limiter (a foreign key state,
 * an outage with `failOpen: false`, a bad key from a key function) are
 * thrown for the framework's error handling.
 *
 * @example
 * ```ts
 * const handle = rateLimitHandler({ limiter, key: 'ip' });
 * const answer = await handle(req, { ip: req.socket.remoteAddress, auth: undefined });
 * ```
 */
export function rateLimitHandler<R>(
  options: RateLimitMiddlewareOptions<R>,
): (request: R, facts: RateLimitRequestFacts) => Promise<RateLimitAnswer | undefined> {
  if (typeof options === 'number' || options === undefined) {
    throw new InvalidOptionsError('rateLimit needs options: { limiter }', { option: 'limiter' });
  }
  checkOptions(options);
  const { limiter, key = 'ip', cost = 1, headers = true } = options;
  const subnet = checkIpv6Subnet(options.ipv6Subnet);
  const { refundWhen } = options;
  if (refundWhen !== undefined && typeof refundWhen !== 'function') {
    throw new InvalidOptionsError('refundWhen must be a function of the finished response', {
      option: 'refundWhen',
    });
  }
  if (typeof (limiter as { consume?: unknown } | null)?.consume !== 'function') {
    throw new InvalidOptionsError('limiter must be a RateLimiter', { option: 'limiter' });
  }
  if (key !== 'ip' && key !== 'subject' && typeof key !== 'function') {
    throw new InvalidOptionsError("key must be 'ip', 'subject' or a function of the request", {
      option: 'key',
    });
  }
  if (typeof cost !== 'function' && (typeof cost !== 'number' || !Number.isInteger(cost) || cost < 1)) {
    throw new InvalidOptionsError('cost must be an integer >= 1 or a function of the request', {
      option: 'cost',
    });
  }
  if (typeof headers !== 'boolean')
    throw new InvalidOptionsError('headers must be a boolean', { option: 'headers' });
  return async (request, facts) => {
    let id: string | undefined;
    if (typeof key === 'function') {
      id = await key(request);
      if (id === undefined) return undefined;
    } else {
      const subject = key === 'subject' ? subjectOf(facts.auth) : undefined;
      id =
        subject !== undefined
          ? requestKey('sub', subject)
          : requestKey('ip', clientAddress(facts.ip, subnet));
    }
    const units = typeof cost === 'function' ? cost(request) : cost;
    if (refundWhen !== undefined && typeof facts.response?.once !== 'function') {
      throw new InvalidArgumentError('refundWhen needs the response in the request facts (facts.response)', {
        argument: 'facts.response',
      });
    }
    const decision = await limiter.consume(id, units === 1 ? undefined : { cost: units });
    if (decision.allowed && refundWhen !== undefined) {
      const response = facts.response!;
      const counted = id;
      response.once('finish', () => {
        let refund: boolean;
        try {
          refund = refundWhen({ statusCode: response.statusCode }, request) === true;
        } catch {
          refund = false; // a throwing predicate keeps the count (the response is already sent)
        }
        // A failed refund is reported by the limiter's `error` event.
        if (refund) limiter.refund(counted, units).catch(() => {});
      });
    }
    if (decision.allowed)
      return { allowed: true, decision, headers: headers ? rateLimitHeaders(decision) : {} };
    const fields = rateLimitHeaders(decision);
    return {
      allowed: false,
      decision,
      status: 429,
      headers: fields,
      body: {
        error: 'rate_limited',
        message: `too many requests: retry in ${fields['retry-after']} s`,
        retryAfterMs: decision.retryAfterMs,
      },
    };
  };
}
