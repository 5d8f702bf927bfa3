import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import axios, { type AxiosInstance, type AxiosRequestConfig, type AxiosResponse } from 'axios';
import type { UpstreamInstance } from '../contracts/upstream.js';
import { isPlainObject } from '../internal/validate.js';
import type { AttemptSignal } from './attempt-signal.js';
import { type CallState, EMPTY_CONFIG } from './call-state.js';
import { DEADLINE_HEADER } from './deadline.js';
import { followRedirects, REDIRECTS } from './redirects.js';
import { safeResponseTransforms } from './response-body.js';
import type { Picked } from './upstream-picker.js';

/**
 * Environment variables that can give a request a proxy, per protocol: what
 * axios reads (via proxy-from-env), plus npm's spellings older versions read.
 */
const PROXY_VARIABLES = {
  http: ['http_proxy', 'all_proxy'].flatMap((v) => [v, v.toUpperCase(), `npm_config_${v}`]),
  https: ['https_proxy', 'all_proxy'].flatMap((v) => [v, v.toUpperCase(), `npm_config_${v}`]),
} as const;

/**
 * What {@link AxiosTransport} is built from (resolved client options).
 *
 * @internal
 */
export interface AxiosTransportOptions {
  /** The caller's axios instance, or `undefined` for one of the transport's own. */
  readonly axios: AxiosInstance | undefined;
  /** Sockets per host of the agents the transport creates. */
  readonly maxSockets: number;
  /** Redirects followed per attempt (own instance only). */
  readonly maxRedirects: number;
  /** `maxContentLength` of the own instance. */
  readonly maxResponseBytes: number;
  /** The client's attempt timeout: the own instance sends it as the default deadline header. */
  readonly attemptTimeoutMs: number;
  /**
   * Asked before a request whose connection broke is sent again (see
   * {@link AxiosTransport.send}): a promise of whether to (`false`: the
   * instance was found down), or `undefined` to send at once.
   */
  readonly beforeResend?: ((picked: Picked) => Promise<boolean> | undefined) | undefined;
}

/**
 * How a {@link ServiceClient} sends one attempt through axios.
 *
 * With no instance given, it creates its own: keep-alive agents,
 * `validateStatus: null`, no redirect-following wrapper (`maxRedirects: 0`
 * sends on Node's http/https directly, a large part of axios' per-request
 * cost), a safe response parser, header defaults flattened once; it then
 * follows redirects itself and skips axios' per-request proxy lookup when
 * no proxy variable is set. With the caller's instance, its interceptors,
 * defaults and redirects apply; the transport only adds keep-alive agents
 * when the instance has none.
 *
 * Ownership: {@link close} destroys only the agents the transport created;
 * an axios instance or agents passed in stay open (their owner closes them).
 *
 * @internal
 */
export class AxiosTransport {
  readonly #axios: AxiosInstance;
  readonly #own: boolean;
  /** Redirects this transport follows itself (own axios instance only; 0 otherwise). */
  readonly #maxRedirects: number;
  readonly #attemptTimeoutMs: number;
  readonly #beforeResend: AxiosTransportOptions['beforeResend'];
  /** The agents this transport created (and so destroys), when the instance had none. */
  readonly #agents: { httpAgent: HttpAgent; httpsAgent: HttpsAgent } | undefined;
  /**
   * Per protocol (own instance only): true when no proxy environment
   * variable applies to it, so requests go direct without axios reading six
   * environment variables and parsing the URL on each one to find out.
   */
  readonly #direct = new Map<string, boolean>();
  readonly #isDirect = (url: string): boolean => this.#directFor(url);

  constructor(options: AxiosTransportOptions) {
    const given = options.axios;
    const maxSockets = options.maxSockets;
    this.#own = given === undefined;
    this.#beforeResend = options.beforeResend;
    this.#maxRedirects = given === undefined ? options.maxRedirects : 0;
    this.#attemptTimeoutMs = options.attemptTimeoutMs;
    this.#agents =
      given === undefined ||
      (given.defaults.httpAgent === undefined && given.defaults.httpsAgent === undefined)
        ? {
            httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
            httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets }),
          }
        : undefined;
    // Our own instance sends on Node's http/https directly (maxRedirects: 0
    // skips axios' redirect-following wrapper, a large part of its per-request
    // cost) and this client follows redirects itself.
    if (given !== undefined) {
      this.#axios = given;
    } else {
      const own = axios.create({
        ...this.#agents,
        validateStatus: null,
        maxRedirects: 0,
        maxContentLength: options.maxResponseBytes,
        // A body that would parse into an object with a pollution key is
        // refused before axios parses it for the caller.
        transformResponse: safeResponseTransforms(),
        headers: { [DEADLINE_HEADER]: String(options.attemptTimeoutMs) },
      });
      // Nobody else can change this instance's defaults, so their header
      // buckets are flattened once instead of deep-merged on every request.
      own.defaults.headers = flattenHeaderDefaults(own.defaults.headers) as typeof own.defaults.headers;
      this.#axios = own;
    }
  }

  /**
   * The axios request config of one attempt of `state` to `instance`, with
   * `timeoutMs` as its deadline header, `signal` as its abort signal and
   * `traceHeaders` (`traceparent`...) added to its headers.
   */
  requestFor(
    state: CallState,
    instance: UpstreamInstance,
    timeoutMs: number,
    signal: AttemptSignal,
    traceHeaders?: Record<string, string>,
  ): AxiosRequestConfig {
    const config = state.config;
    const given = config.headers as Record<string, unknown> | undefined;
    // Our own instance sends the deadline header of a full attempt by default:
    // the common call (no headers of its own, not cut short by its deadline)
    // then passes no per-request headers for axios to merge.
    let headers: Record<string, unknown> | undefined;
    if (
      !this.#own ||
      given !== undefined ||
      timeoutMs !== this.#attemptTimeoutMs ||
      state.idempotencyKey !== undefined ||
      traceHeaders !== undefined
    ) {
      const deadline = String(timeoutMs);
      headers =
        given === undefined ? { [DEADLINE_HEADER]: deadline } : { ...given, [DEADLINE_HEADER]: deadline };
      if (state.idempotencyKey !== undefined) headers['Idempotency-Key'] = state.idempotencyKey;
      if (traceHeaders !== undefined) Object.assign(headers, traceHeaders);
    }
    // No spread of an empty per-call config: every key costs axios a merge step.
    const request: AxiosRequestConfig =
      config === EMPTY_CONFIG
        ? { url: state.url, method: state.method, baseURL: instance.url, signal }
        : { ...config, url: state.url, method: state.method, baseURL: instance.url, signal };
    if (headers !== undefined) request.headers = headers as AxiosRequestConfig['headers'];
    if (state.data !== undefined) request.data = state.data;
    if (state.absolute) {
      // A same-origin absolute URL, checked against this instance's origin.
      request.baseURL = undefined;
      request.allowAbsoluteUrls = true;
    }
    if (this.#own) {
      // Our own instance never lets axios follow redirects (this client does).
      if (config.maxRedirects !== undefined) request.maxRedirects = 0;
      if (config.proxy === undefined && this.#directFor(instance.url)) request.proxy = false;
    }
    // Our own instance has the agents and `validateStatus: null` as defaults.
    if (!this.#own || config.validateStatus !== undefined) request.validateStatus = null;
    if (!this.#own && this.#agents !== undefined && config.httpAgent === undefined) {
      request.httpAgent = this.#agents.httpAgent;
      request.httpsAgent = this.#agents.httpsAgent;
    }
    return request;
  }

  /**
   * Sends `request`, raced against the attempt's signal: a timeout ends the
   * attempt at once, axios tears the request down a turn later.
   *
   * A `replayable` request (an idempotent method, or an idempotency key)
   * whose connection broke before an answer (a reset, a broken pipe) is
   * sent once more at once, within the same attempt: the connection was
   * dropped by the server or a middlebox, or lost the answer on the way
   * back, and replaying the request is safe (Go's http.Transport does the
   * same on a reused connection). No attempt, budget token or breaker
   * verdict is spent on it; a failure of the second send is the attempt's.
   * An instance that is down refuses connections or times out (never
   * resent), and one that resets everything costs two sends per attempt
   * until its breaker opens. Before sending again to `picked`'s instance, the
   * transport asks `beforeResend` (one bare connect checks the instance,
   * shared by every request whose connection broke meanwhile): found down,
   * the broken connection is the attempt's error and nothing is sent again,
   * so an instance that died under keep-alive connections costs one send
   * per request in flight, not two.
   */
  send(
    request: AxiosRequestConfig,
    signal: AttemptSignal,
    replayable = false,
    picked?: Picked,
  ): Promise<AxiosResponse> {
    const sent = this.#axios.request(request);
    if (!replayable) return signal.race(sent);
    return signal.race(
      sent.catch((err: unknown) => {
        if (signal.aborted || !brokenConnection(err)) throw err;
        const gate = picked === undefined ? undefined : this.#beforeResend?.(picked);
        if (gate === undefined) return this.#axios.request(request);
        return gate.then((again) => {
          if (!again || signal.aborted) throw err;
          return this.#axios.request(request);
        });
      }),
    );
  }

  /** Redirects to follow after `response` to a call with `config` (0: it is the answer). */
  redirectsAfter(response: AxiosResponse, config: AxiosRequestConfig): number {
    if (!this.#own || !REDIRECTS.has(response.status)) return 0;
    return config.maxRedirects ?? this.#maxRedirects;
  }

  /** Follows up to `limit` redirects of `response` (see `followRedirects`); resolves to the last answer. */
  followRedirects(
    request: AxiosRequestConfig,
    response: AxiosResponse,
    limit: number,
    config: AxiosRequestConfig,
    signal: AttemptSignal,
  ): Promise<AxiosResponse> {
    return followRedirects(
      this.#axios,
      request,
      response,
      limit,
      config.proxy === undefined,
      signal,
      this.#isDirect,
    );
  }

  /** Destroys the sockets of the agents this transport created; nothing else. */
  close(): void {
    this.#agents?.httpAgent.destroy();
    this.#agents?.httpsAgent.destroy();
  }

  /**
   * True when no proxy variable of the environment is set for the protocol
   * of `url` (`http:` or `https:`, or a URL starting with one): read once
   * per protocol. When one is set, axios decides per request as usual
   * (`NO_PROXY` included).
   */
  #directFor(url: string): boolean {
    const protocol = url.startsWith('https:') ? 'https' : 'http';
    let direct = this.#direct.get(protocol);
    if (direct === undefined) {
      direct = PROXY_VARIABLES[protocol].every((name) => !process.env[name]);
      this.#direct.set(protocol, direct);
    }
    return direct;
  }
}

/**
 * Axios instance header defaults (`common`, one bucket per method, then
 * plain headers) as axios would see them for any request: `common`'s
 * headers first, then the plain ones (which win, as in axios), and only the
 * method buckets that hold something. Axios deep-merges every bucket into
 * each request's config (~6 µs of CPU per request for a dozen empty ones).
 */
function flattenHeaderDefaults(headers: Record<string, unknown>): Record<string, unknown> {
  const flat: Record<string, unknown> = {};
  const common = headers.common;
  if (isPlainObject(common)) Object.assign(flat, common);
  for (const [name, value] of Object.entries(headers)) {
    if (name === 'common') continue;
    if (isPlainObject(value)) {
      if (Object.keys(value).length > 0) flat[name] = value;
    } else {
      flat[name] = value;
    }
  }
  return flat;
}

/** Node's errors of a connection that broke under a request (no answer read). */
const BROKEN_CONNECTION_CODES = new Set(['ECONNRESET', 'EPIPE']);

/** True for a request whose connection broke under it, before any answer. */
function brokenConnection(err: unknown): boolean {
  const e = err as { code?: unknown; response?: unknown } | null;
  return e?.response === undefined && typeof e?.code === 'string' && BROKEN_CONNECTION_CODES.has(e.code);
}
