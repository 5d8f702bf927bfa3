import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import axios, { type AxiosInstance, type AxiosRequestConfig, type AxiosResponse } from 'axios';
import {
  ClosedError,
  ConnectionError,
  HttpStatusError,
  InvalidArgumentError,
  InvalidOptionsError,
  isScaleoutError,
  NoUpstreamError,
  TimeoutError,
} from '../errors.js';
import { abortedError, anySignal } from '../internal/abort.js';
import { TypedEmitter } from '../internal/events.js';
import { LruMap } from '../internal/lru.js';
import { redactUrl } from '../internal/redact.js';
import { SHARED_TIMEOUTS } from '../internal/timeout-queue.js';
import { durationOption, keyArgument } from '../internal/validate.js';
import { Bulkhead } from '../resilience/bulkhead.js';
import {
  CircuitBreaker,
  type CircuitPermit,
  type CircuitStateChange,
} from '../resilience/circuit-breaker.js';
import { RetryPolicy } from '../resilience/retry-policy.js';
import { type Clock, type Logger, systemClock } from '../types.js';
import { AttemptSignal } from './attempt-signal.js';
import { DEADLINE_HEADER } from './deadline.js';
import { isServiceRegistry, RegistryUpstreamSource } from './registry-upstream-source.js';
import { RequestConfigChecker, type RequestConfigShape } from './request-config.js';
import { type AbsoluteUrlPolicy, isCallableInstance, isUpstreamPath, sameOriginUrl } from './request-url.js';
import { responseBodyFailure, safeResponseTransforms, sanitizedCause } from './response-body.js';
import { parseRetryAfterMs } from './retry-after.js';
import {
  checkServiceClientArguments,
  SERVICE_CLIENT_DEFAULTS,
  type ServiceClientOptions,
  type ServiceClientTarget,
} from './service-client-options.js';
import {
  type AttemptOutcome,
  isFailureOutcome,
  type UpstreamInstance,
  type UpstreamSource,
} from './upstream-source.js';

/**
 * Per-call options: an axios request config plus the resilience settings of
 * this call.
 *
 * @example
 * ```ts
 * const config: ServiceRequestConfig = { idempotencyKey: orderId, deadlineMs: 1_500 };
 * ```
 */
export interface ServiceRequestConfig<D = unknown> extends AxiosRequestConfig<D> {
  /** Makes a POST/PATCH retryable; sent as the `Idempotency-Key` header. */
  idempotencyKey?: string;
  /** Time limit of this call, in ms (overrides `deadlineMs` of the client). */
  deadlineMs?: number;
  /** Absolute deadline, epoch ms (from {@link readDeadline} of an incoming request); the earlier one wins. */
  deadlineAt?: number | undefined;
  /** Time limit of each attempt of this call, in ms. */
  attemptTimeoutMs?: number;
}

/**
 * The events of a {@link ServiceClient}.
 *
 * @example
 * ```ts
 * client.on('breakerStateChange', (e) => log.warn(`${e.instanceId}: ${e.from} -> ${e.to}`));
 * ```
 */
export type ServiceClientEvents = {
  /** An attempt ended (any outcome). */
  attempt: AttemptEvent;
  /** A retry is about to wait `delayMs`, then be sent. */
  retry: ClientRetryEvent;
  /** The circuit breaker of an instance changed state. */
  breakerStateChange: BreakerStateChangeEvent;
  /** A retry was refused by the retry budget. */
  retryBudgetExhausted: CallEvent;
};

/**
 * Fields every event of a call carries.
 *
 * @example
 * ```ts
 * const label = (e: CallEvent) => `${e.service} ${e.method} ${e.url}`;
 * ```
 */
export interface CallEvent {
  /** The service name (or redacted base URL). */
  service: string;
  /** The request method, upper case. */
  method: string;
  /** The request path, without its query string. */
  url: string;
}

/**
 * Payload of the `attempt` event.
 *
 * @example
 * ```ts
 * client.on('attempt', (e: AttemptEvent) => histogram.observe({ outcome: e.outcome }, e.latencyMs));
 * ```
 */
export interface AttemptEvent extends CallEvent {
  /** The instance called. */
  instanceId: string;
  /** 1 for the first attempt of the call. */
  attempt: number;
  /** How it ended. */
  outcome: AttemptOutcome;
  /** The HTTP status, when an answer arrived. */
  status: number | undefined;
  /** Time from sending to the end of the attempt, in ms. */
  latencyMs: number;
}

/**
 * Payload of the `retry` event.
 *
 * @example
 * ```ts
 * client.on('retry', (e: ClientRetryEvent) => log.info(`retry ${e.attempt} in ${e.delayMs} ms (${e.errorCode})`));
 * ```
 */
export interface ClientRetryEvent extends CallEvent {
  /** The number of the attempt about to be made (2 for the first retry). */
  attempt: number;
  /** The wait before it, in ms (backoff, or Retry-After when longer). */
  delayMs: number;
  /** The `code` of the error that caused the retry. */
  errorCode: string;
}

/**
 * Payload of the `breakerStateChange` event.
 *
 * @example
 * ```ts
 * client.on('breakerStateChange', (e: BreakerStateChangeEvent) => log.warn(`${e.instanceId} ${e.to}`));
 * ```
 */
export interface BreakerStateChangeEvent extends CircuitStateChange {
  /** The service name (or redacted base URL). */
  service: string;
  /** The instance whose breaker changed. */
  instanceId: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const BODY_HEADERS = ['content-type', 'content-length', 'content-encoding', 'transfer-encoding'];
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
]);
const NEVER = new AbortController().signal;

/**
 * Environment variables that can give a request a proxy, per protocol: what
 * axios reads (via proxy-from-env), plus npm's spellings older versions read.
 */
const PROXY_VARIABLES = {
  http: ['http_proxy', 'all_proxy'].flatMap((v) => [v, v.toUpperCase(), `npm_config_${v}`]),
  https: ['https_proxy', 'all_proxy'].flatMap((v) => [v, v.toUpperCase(), `npm_config_${v}`]),
} as const;
const EMPTY: ServiceRequestConfig = Object.freeze({});
const NO_IDS: readonly string[] = [];
/** Picks per attempt before giving up on finding an instance with a closed circuit. */
const MAX_PICKS = 16;

/** The last CircuitOpenError met while picking. */
interface OpenCircuit {
  error: unknown;
}

function dataOf(response: AxiosResponse): unknown {
  return response.data;
}

/** What the client remembers about a failed attempt's error, for the retry decision. */
interface Failure {
  method: string;
  url: string;
  outcome: AttemptOutcome;
  retryable: boolean;
  retryAfterMs: number | undefined;
}

interface Picked {
  instance: UpstreamInstance;
  breaker: CircuitBreaker | undefined;
  permit: CircuitPermit;
}

interface CallState {
  readonly startedAt: number;
  readonly method: string;
  readonly url: string;
  /** `url` is an absolute URL of the base URL's origin (`absoluteUrls: 'same-origin'`). */
  readonly absolute: boolean;
  readonly config: ServiceRequestConfig;
  readonly deadlineAt: number;
  readonly attemptTimeoutMs: number;
  readonly idempotencyKey: string | undefined;
  readonly replayable: boolean;
  readonly data: unknown;
  tried: Set<string> | undefined;
  readonly signal: AbortSignal | undefined;
}

/**
 * An HTTP client for calling other services that absorbs transient faults
 * without making an outage worse: keep-alive connection pooling, a
 * per-attempt timeout inside an overall deadline (propagated downstream in
 * {@link DEADLINE_HEADER}), retries with capped full-jitter backoff only
 * when safe (idempotent methods, or POST/PATCH with an idempotency key),
 * `Retry-After`, a retry budget per upstream, a circuit breaker per
 * instance and a bulkhead per upstream. With a registry, every retry goes to
 * another instance and every attempt's result is reported back.
 *
 * @example
 * ```ts
 * const inventory = new ServiceClient({ service: 'inventory', registry }, { deadlineMs: 2_000 });
 * const stock = await inventory.post<{ ok: boolean }>('/check', { items }, { idempotencyKey: orderId });
 * await inventory.close();
 * ```
 */
export class ServiceClient {
  /** The service name (the base URL when constructed with one). */
  readonly service: string;
  readonly #source: UpstreamSource | undefined;
  readonly #fixed: UpstreamInstance | undefined;
  readonly #axios: AxiosInstance;
  readonly #ownAxios: boolean;
  /** Redirects this client follows itself (own axios instance only; 0 otherwise). */
  readonly #maxRedirects: number;
  readonly #logger: Logger | undefined;
  readonly #agents: { httpAgent: HttpAgent; httpsAgent: HttpsAgent } | undefined;
  readonly #attemptTimeoutMs: number;
  readonly #deadlineMs: number;
  readonly #retryOnStatus: ReadonlySet<number>;
  readonly #retry: RetryPolicy;
  readonly #bulkhead: Bulkhead | undefined;
  readonly #breakerOptions: ServiceClientOptions['breaker'];
  readonly #breakers = new LruMap<string, CircuitBreaker>({
    maxEntries: SERVICE_CLIENT_DEFAULTS.maxInstances,
  });
  /**
   * Per protocol (own instance only): true when no proxy environment
   * variable applies to it, so requests go direct without axios reading six
   * environment variables and parsing the URL on each one to find out.
   */
  readonly #direct = new Map<string, boolean>();
  readonly #events: TypedEmitter<ServiceClientEvents>;
  readonly #failures = new WeakMap<object, Failure>();
  readonly #clock: Clock;
  #fixedBreaker: CircuitBreaker | undefined;
  #closed = false;
  readonly #absoluteUrls: AbsoluteUrlPolicy;
  readonly #config: RequestConfigChecker;
  /** The attempts running now: `close()` ends each one with `ClosedError`. */
  readonly #running = new Set<AttemptSignal>();
  /** Fires on `close()`: wakes calls sleeping between attempts. */
  readonly #closing = new AbortController();

  constructor(target: ServiceClientTarget, options: ServiceClientOptions = {}) {
    const d = SERVICE_CLIENT_DEFAULTS;
    checkServiceClientArguments(target, options);
    options ??= {};
    if ('baseUrl' in target) {
      if (typeof target.baseUrl !== 'string') {
        throw new InvalidOptionsError(
          `baseUrl must be an absolute http(s) URL, got ${target.baseUrl === undefined ? 'undefined (is the environment variable set?)' : typeof target.baseUrl}`,
          { option: 'baseUrl' },
        );
      }
      let parsed: URL;
      try {
        parsed = new URL(target.baseUrl);
      } catch {
        throw new InvalidOptionsError('baseUrl must be an absolute http(s) URL', { option: 'baseUrl' });
      }
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
        throw new InvalidOptionsError('baseUrl must be an absolute http(s) URL', { option: 'baseUrl' });
      }
      if (!isCallableInstance({ id: '', url: target.baseUrl })) {
        throw new InvalidOptionsError(
          'baseUrl must be an absolute http(s) URL (http:// or https://, no leading space or control characters)',
          { option: 'baseUrl' },
        );
      }
      this.service = redactUrl(target.baseUrl);
      this.#fixed = { id: parsed.origin, url: target.baseUrl };
    } else if ('service' in target) {
      if (typeof target.service !== 'string' || target.service === '') {
        throw new InvalidOptionsError('service must be a non-empty string', { option: 'service' });
      }
      if (typeof target.registry?.pick !== 'function') {
        throw new InvalidOptionsError('registry must have a pick(service, { exclude }) method', {
          option: 'registry',
        });
      }
      this.service = target.service;
      this.#source = isServiceRegistry(target.registry)
        ? new RegistryUpstreamSource(target.registry)
        : target.registry;
    } else {
      throw new InvalidOptionsError('target must be { baseUrl } or { service, registry }', {
        option: 'target',
      });
    }
    this.#attemptTimeoutMs = durationOption(
      'attemptTimeoutMs',
      options.attemptTimeoutMs ?? d.attemptTimeoutMs,
    );
    this.#deadlineMs = durationOption('deadlineMs', options.deadlineMs ?? d.deadlineMs);
    const retryOnStatus = options.retry?.retryOnStatus ?? d.retryOnStatus;
    if (
      !Array.isArray(retryOnStatus) ||
      retryOnStatus.some((s) => !Number.isInteger(s) || s < 100 || s > 599)
    ) {
      throw new InvalidOptionsError('retry.retryOnStatus must be a list of HTTP statuses', {
        option: 'retry.retryOnStatus',
      });
    }
    this.#retryOnStatus = new Set(retryOnStatus);
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger;
    this.#absoluteUrls = options.absoluteUrls ?? d.absoluteUrls;
    this.#config = new RequestConfigChecker(options.requestConfigKeys);
    this.#events = new TypedEmitter(options.logger);
    this.#retry = new RetryPolicy({
      maxAttempts: options.retry?.maxAttempts ?? d.maxAttempts,
      backoff: options.retry?.backoff ?? d.backoff,
      budget: options.retryBudget === false ? false : { ...options.retryBudget, clock: this.#clock },
      shouldRetry: (err) => this.#failures.get(err as object)?.retryable === true,
      retryAfterMs: (err) => this.#failures.get(err as object)?.retryAfterMs,
      onRetry: (info) => {
        const failure = this.#failures.get(info.error as object);
        if (failure === undefined || !this.#events.has('retry')) return;
        this.#events.emit('retry', {
          service: this.service,
          method: failure.method,
          url: failure.url,
          attempt: info.attempt,
          delayMs: info.delayMs,
          errorCode: (info.error as { code?: string }).code ?? 'unknown',
        });
      },
      clock: this.#clock,
    });
    this.#bulkhead = options.bulkhead === false ? undefined : new Bulkhead(options.bulkhead);
    this.#breakerOptions = options.breaker ?? {};
    if (this.#breakerOptions !== false) new CircuitBreaker(this.#breakerOptions); // validates now
    if (this.#fixed !== undefined) this.#fixedBreaker = this.#breakerFor(this.#fixed.id);
    const maxSockets = options.maxSockets ?? d.maxSockets;
    if (!Number.isInteger(maxSockets) || maxSockets < 1) {
      throw new InvalidOptionsError('maxSockets must be an integer >= 1', { option: 'maxSockets' });
    }
    const maxRedirects = options.maxRedirects ?? d.maxRedirects;
    if (!Number.isInteger(maxRedirects) || maxRedirects < 0 || maxRedirects > 100) {
      throw new InvalidOptionsError('maxRedirects must be an integer from 0 to 100', {
        option: 'maxRedirects',
      });
    }
    const given = options.axios;
    this.#ownAxios = given === undefined;
    this.#maxRedirects = given === undefined ? maxRedirects : 0;
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
        maxContentLength: options.maxResponseBytes ?? d.maxResponseBytes,
        // A body that would parse into an object with a pollution key is
        // refused before axios parses it for the caller.
        transformResponse: safeResponseTransforms(),
        headers: { [DEADLINE_HEADER]: String(this.#attemptTimeoutMs) },
      });
      // Nobody else can change this instance's defaults, so their header
      // buckets are flattened once instead of deep-merged on every request.
      own.defaults.headers = flattenHeaderDefaults(own.defaults.headers) as typeof own.defaults.headers;
      this.#axios = own;
    }
  }

  /** Subscribes to an event; returns a function that unsubscribes. */
  on<K extends keyof ServiceClientEvents & string>(
    event: K,
    listener: (payload: ServiceClientEvents[K]) => void,
  ): () => void {
    checkListener('on', event, listener);
    return this.#events.on(event, listener);
  }

  /** Unsubscribes a listener added with {@link on}. */
  off<K extends keyof ServiceClientEvents & string>(
    event: K,
    listener: (payload: ServiceClientEvents[K]) => void,
  ): void {
    checkListener('off', event, listener);
    this.#events.off(event, listener);
  }

  /** The state of the circuit breaker of an instance (`closed` if it has none yet). */
  breakerState(instanceId?: string): 'closed' | 'open' | 'half-open' {
    const id = instanceId ?? this.#fixed?.id;
    if (id === undefined) return 'closed';
    return this.#breakers.get(id)?.state ?? 'closed';
  }

  /**
   * GET `url` (a path on the upstream); resolves to the response body.
   *
   * @example
   * ```ts
   * const items = await inventory.get<Item[]>('/items', { params: { sku: 'bolt' } });
   * ```
   */
  get<T = unknown>(url: string, config?: ServiceRequestConfig): Promise<T> {
    return this.#call('GET', url, undefined, config, dataOf, 'get()', 'method') as Promise<T>;
  }

  /**
   * DELETE `url`; resolves to the response body.
   *
   * @example
   * ```ts
   * await inventory.delete(`/reservations/${id}`);
   * ```
   */
  delete<T = unknown>(url: string, config?: ServiceRequestConfig): Promise<T> {
    return this.#call('DELETE', url, undefined, config, dataOf, 'delete()', 'method') as Promise<T>;
  }

  /**
   * POST `data` to `url`; resolves to the response body. Retried only with
   * an `idempotencyKey`.
   *
   * @example
   * ```ts
   * const stock = await inventory.post('/check', { items }, { idempotencyKey: orderId });
   * ```
   */
  post<T = unknown, D = unknown>(url: string, data?: D, config?: ServiceRequestConfig<D>): Promise<T> {
    return this.#call('POST', url, data, config, dataOf, 'post()', 'method') as Promise<T>;
  }

  /**
   * PUT `data` to `url`; resolves to the response body.
   *
   * @example
   * ```ts
   * await inventory.put('/items/bolt', { stock: 40 });
   * ```
   */
  put<T = unknown, D = unknown>(url: string, data?: D, config?: ServiceRequestConfig<D>): Promise<T> {
    return this.#call('PUT', url, data, config, dataOf, 'put()', 'method') as Promise<T>;
  }

  /**
   * PATCH `data` to `url`; resolves to the response body. Retried only with
   * an `idempotencyKey`.
   *
   * @example
   * ```ts
   * await inventory.patch('/items/bolt', { stock: 39 }, { idempotencyKey: orderId });
   * ```
   */
  patch<T = unknown, D = unknown>(url: string, data?: D, config?: ServiceRequestConfig<D>): Promise<T> {
    return this.#call('PATCH', url, data, config, dataOf, 'patch()', 'method') as Promise<T>;
  }

  /**
   * Sends a request and resolves to the response body. Two shapes: an axios
   * config (`request({ method, url, data })`), or the design's
   * `request(method, path, config)`, where the body is `config.data`.
   *
   * @example
   * ```ts
   * const order = await orders.request<Order>('get', `/orders/${id}`, { headers: { 'x-trace': traceId } });
   * const same = await orders.request<Order>({ method: 'get', url: `/orders/${id}` });
   * ```
   */
  request<T = unknown, D = unknown>(config: ServiceRequestConfig<D>): Promise<T>;
  request<T = unknown, D = unknown>(
    method: string,
    path: string,
    config?: ServiceRequestConfig<D>,
  ): Promise<T>;
  request(configOrMethod: unknown, path?: unknown, config?: unknown): Promise<unknown> {
    if (typeof configOrMethod === 'string') {
      return this.#call(configOrMethod, path, undefined, config, dataOf, 'request()', 'positional');
    }
    return this.#call(undefined, undefined, undefined, configOrMethod, dataOf, 'request()', 'request');
  }

  /**
   * Like {@link request} with a config, but resolves to the whole axios
   * response (status, headers, data).
   *
   * @example
   * ```ts
   * const { status, headers, data } = await inventory.requestResponse({ url: '/items/bolt' });
   * ```
   */
  requestResponse<T = unknown, D = unknown>(config: ServiceRequestConfig<D>): Promise<AxiosResponse<T, D>> {
    return this.#call(
      undefined,
      undefined,
      undefined,
      config,
      undefined,
      'requestResponse()',
      'request',
    ) as Promise<AxiosResponse<T, D>>;
  }

  /**
   * Runs a call; `map` turns the response into the caller's value (one
   * `then` for the value and the error path: every promise hop costs on
   * the hot path).
   */
  #call(
    method: string | undefined,
    url: unknown,
    data: unknown,
    config: unknown,
    map: ((response: AxiosResponse) => unknown) | undefined,
    where: string,
    shape: RequestConfigShape,
  ): Promise<unknown> {
    let state: CallState;
    try {
      if (this.#closed) throw new ClosedError('ServiceClient is closed');
      state = this.#callState(method, url, data, config, where, shape);
    } catch (err) {
      return Promise.reject(err);
    }
    // The first attempt runs here, not inside RetryPolicy.execute: a call that
    // succeeds at once then costs one `then` on top of the attempt.
    const retry = this.#retry;
    retry.budget?.recordRequest();
    return this.#attempt(state, 1).then(map, (first: unknown) => this.#retryAfter(state, first, map));
  }

  /** The rest of a call whose first attempt failed with `first` (retries, if any). */
  async #retryAfter(
    state: CallState,
    first: unknown,
    map: ((response: AxiosResponse) => unknown) | undefined,
  ): Promise<unknown> {
    if (this.#closed) throw closedDuring(first);
    // Close wakes a call sleeping before its next attempt.
    const combined = anySignal(state.signal, this.#closing.signal);
    let last = first;
    try {
      const response = await this.#retry.continueAfter(
        (ctx) =>
          this.#attempt(state, ctx.attempt).catch((err: unknown) => {
            if (!isScaleoutError(err, 'ERR_CLOSED')) last = err;
            throw err;
          }),
        first,
        combined.signal ?? NEVER,
        state.deadlineAt,
      );
      return map === undefined ? response : map(response);
    } catch (err) {
      if (this.#closed) throw closedDuring(last);
      if (isScaleoutError(err, 'ERR_RETRY_BUDGET_EXHAUSTED') && this.#events.has('retryBudgetExhausted')) {
        this.#events.emit('retryBudgetExhausted', {
          service: this.service,
          method: state.method,
          url: pathOf(state.url),
        });
      }
      throw err;
    } finally {
      combined.dispose();
    }
  }

  /**
   * Ends every call: calls in flight (an attempt running, waiting for a
   * bulkhead slot or an instance, or sleeping before a retry) reject with
   * `ClosedError` (its `cause` is the last attempt's error, when one
   * failed), and so do later calls. Then destroys the sockets of the agents
   * the client created. Idempotent.
   *
   * @example
   * ```ts
   * process.on('SIGTERM', () => void inventory.close());
   * ```
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const attempt of [...this.#running]) attempt.abort(CLOSED);
    this.#running.clear();
    this.#closing.abort(new ClosedError('ServiceClient is closed'));
    this.#agents?.httpAgent.destroy();
    this.#agents?.httpsAgent.destroy();
    this.#events.clear();
  }

  /** Same as {@link close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #callState(
    rawMethod: string | undefined,
    rawUrl: unknown,
    rawData: unknown,
    rawConfig: unknown,
    where: string,
    shape: RequestConfigShape,
  ): CallState {
    const call = this.#config.read(rawMethod, rawUrl, rawData, rawConfig, where, shape);
    const { method, data } = call;
    const config = (call.config ?? EMPTY) as ServiceRequestConfig;
    let url = call.url;
    const absolute = !isUpstreamPath(url);
    if (absolute)
      url = sameOriginUrl(url, this.#absoluteUrls, this.#fixed === undefined ? undefined : this.#fixed.id);
    const now = this.#clock.now();
    const deadlineMs =
      config.deadlineMs === undefined ? this.#deadlineMs : durationOption('deadlineMs', config.deadlineMs);
    let deadlineAt = now + deadlineMs;
    if (config.deadlineAt !== undefined) {
      if (typeof config.deadlineAt !== 'number' || Number.isNaN(config.deadlineAt)) {
        throw new InvalidArgumentError('deadlineAt must be epoch milliseconds', { argument: 'deadlineAt' });
      }
      deadlineAt = Math.min(deadlineAt, config.deadlineAt);
    }
    const attemptTimeoutMs =
      config.attemptTimeoutMs === undefined
        ? this.#attemptTimeoutMs
        : durationOption('attemptTimeoutMs', config.attemptTimeoutMs);
    const headerKey = headerValue(config.headers, 'idempotency-key');
    const idempotencyKey =
      config.idempotencyKey === undefined
        ? headerKey
        : keyArgument('idempotencyKey', config.idempotencyKey, 255);
    const signal = config.signal as AbortSignal | undefined;
    if (signal?.aborted) throw abortedError(signal);
    return {
      startedAt: now,
      method,
      url,
      absolute,
      config,
      deadlineAt,
      attemptTimeoutMs,
      idempotencyKey,
      replayable: IDEMPOTENT.has(method) || idempotencyKey !== undefined,
      data,
      tried: undefined,
      signal,
    };
  }

  #pick(state: CallState): Picked | Promise<Picked> {
    const fixed = this.#fixed;
    if (fixed !== undefined) {
      const breaker = this.#fixedBreaker;
      return { instance: fixed, breaker, permit: breaker === undefined ? 'closed' : breaker.acquire() };
    }
    return this.#pickFromSource(state);
  }

  /**
   * Asks the source for an instance whose circuit admits the attempt. With a
   * source that answers synchronously (a loaded `ServiceRegistry`), nothing
   * is awaited between the pick and `onAttemptStart`, so concurrent calls
   * see each other's outstanding counts.
   */
  #pickFromSource(state: CallState): Picked | Promise<Picked> {
    const exclude = new Set(state.tried ?? NO_IDS);
    const open: OpenCircuit = { error: undefined };
    for (let i = 0; i < MAX_PICKS; i++) {
      const found = this.#source!.pick(this.service, { exclude });
      if (found instanceof Promise) return this.#pickFromSourceAsync(found, exclude, i, open);
      const admitted = this.#admit(found, exclude, open);
      if (admitted === false) break;
      if (admitted !== true) return admitted;
    }
    throw this.#noUpstream(open);
  }

  async #pickFromSourceAsync(
    first: Promise<UpstreamInstance | undefined>,
    exclude: Set<string>,
    picks: number,
    open: OpenCircuit,
  ): Promise<Picked> {
    let found = await first;
    for (let i = picks; i < MAX_PICKS; i++) {
      if (i > picks) found = await this.#source!.pick(this.service, { exclude });
      const admitted = this.#admit(found, exclude, open);
      if (admitted === false) break;
      if (admitted !== true) return admitted;
    }
    throw this.#noUpstream(open);
  }

  /** The picked instance with its breaker permit; `true`: its circuit is open, pick again; `false`: give up. */
  #admit(instance: UpstreamInstance | undefined, exclude: Set<string>, open: OpenCircuit): Picked | boolean {
    if (instance === undefined) return false;
    if (!isCallableInstance(instance)) {
      // A data:, file: or javascript: URL (or no instance at all) must never
      // reach axios: skip it like an open circuit, and say why if nothing is left.
      const id = (instance as { id?: unknown } | null)?.id;
      const named = typeof id === 'string' && /^[\w.:-]{1,64}$/.test(id) ? ` "${id}"` : '';
      open.error ??= new NoUpstreamError(
        `no usable instance of "${this.service}": the registry handed out an instance${named} whose URL is not an absolute http(s) URL (skipped)`,
      );
      this.#logger?.warn?.('skipped an instance whose URL is not http(s)', { service: this.service });
      if (typeof id !== 'string' || exclude.has(id)) return false;
      exclude.add(id);
      return true;
    }
    const breaker = this.#breakerFor(instance.id);
    if (breaker === undefined) return { instance, breaker, permit: 'closed' };
    try {
      return { instance, breaker, permit: breaker.acquire() };
    } catch (err) {
      open.error = err;
      if (exclude.has(instance.id)) return false;
      exclude.add(instance.id);
      return true;
    }
  }

  #noUpstream(open: OpenCircuit): unknown {
    return open.error ?? new NoUpstreamError(`no instance of "${this.service}" is available`);
  }

  #breakerFor(id: string): CircuitBreaker | undefined {
    if (this.#breakerOptions === false) return undefined;
    let breaker = this.#breakers.get(id);
    if (breaker === undefined) {
      breaker = new CircuitBreaker({
        ...this.#breakerOptions,
        clock: this.#clock,
        onStateChange: (change) =>
          this.#events.emit('breakerStateChange', { ...change, service: this.service, instanceId: id }),
      });
      this.#breakers.set(id, breaker);
    }
    return breaker;
  }

  async #attempt(state: CallState, attempt: number): Promise<AxiosResponse> {
    if (this.#closed) throw new ClosedError('ServiceClient is closed');
    // The first attempt starts where the call did (no second clock read).
    const remaining = state.deadlineAt - (attempt === 1 ? state.startedAt : this.#clock.now());
    if (remaining <= 0) throw this.#deadlineError(state);
    const byDeadline = remaining <= state.attemptTimeoutMs;
    const timeoutMs = byDeadline ? Math.max(1, Math.floor(remaining)) : state.attemptTimeoutMs;

    const controller = new AttemptSignal();
    const attemptSignal = controller.asAbortSignal();
    const timer = SHARED_TIMEOUTS.add(timeoutMs, () => controller.abort(TIMEOUT));
    this.#running.add(controller);
    const callSignal = state.signal;
    let onCallAbort: (() => void) | undefined;
    if (callSignal !== undefined) {
      onCallAbort = () => controller.abort(callSignal.reason);
      callSignal.addEventListener('abort', onCallAbort, { once: true });
    }

    let releaseSlot: (() => void) | undefined;
    let picked: Picked;
    try {
      if (this.#bulkhead !== undefined) {
        const slot = this.#bulkhead.acquire(attemptSignal);
        releaseSlot = typeof slot === 'function' ? slot : await slot;
      }
      const pick = this.#pick(state);
      if (pick instanceof Promise) {
        // Bounded by the attempt: a registry that does not answer meets the
        // timeout, the caller's abort or close(); a pick that lands later
        // gives its breaker permit back.
        pick.then(
          (late) => {
            if (controller.aborted) late.breaker?.release(late.permit, 'neutral');
          },
          () => {},
        );
        picked = await controller.race(pick);
      } else {
        picked = pick;
      }
    } catch (err) {
      SHARED_TIMEOUTS.cancel(timer);
      this.#running.delete(controller);
      if (onCallAbort !== undefined) callSignal?.removeEventListener('abort', onCallAbort);
      releaseSlot?.();
      if (controller.reason === TIMEOUT) throw this.#timeoutError(state, byDeadline, timeoutMs, false);
      if (controller.reason === CLOSED)
        throw new ClosedError('ServiceClient was closed while the call was in flight');
      if (controller.aborted && !isScaleoutError(err)) throw abortedError(attemptSignal);
      throw err;
    }
    const { instance, breaker, permit } = picked;
    if (this.#source !== undefined) {
      if (state.tried === undefined) state.tried = new Set();
      state.tried.add(instance.id);
    }
    const source = this.#source;
    let token: unknown;
    if (source?.onAttemptStart !== undefined) {
      try {
        token = source.onAttemptStart(this.service, instance.id);
      } catch (err) {
        this.#logger?.error?.('registry onAttemptStart threw', { service: this.service, error: String(err) });
      }
    }
    const config = state.config;
    const given = config.headers as Record<string, unknown> | undefined;
    // Our own instance sends the deadline header of a full attempt by default:
    // the common call (no headers of its own, not cut short by its deadline)
    // then passes no per-request headers for axios to merge.
    let headers: Record<string, unknown> | undefined;
    if (
      !this.#ownAxios ||
      given !== undefined ||
      timeoutMs !== this.#attemptTimeoutMs ||
      state.idempotencyKey !== undefined
    ) {
      const deadline = String(timeoutMs);
      headers =
        given === undefined ? { [DEADLINE_HEADER]: deadline } : { ...given, [DEADLINE_HEADER]: deadline };
      if (state.idempotencyKey !== undefined) headers['Idempotency-Key'] = state.idempotencyKey;
    }
    // Latency is measured only for whom reads it: the registry and `attempt` listeners.
    const timed = source?.onAttemptEnd !== undefined || this.#events.has('attempt');
    const started = timed ? this.#clock.monotonic() : 0;
    let outcome: AttemptOutcome;
    let status: number | undefined;
    let result: AxiosResponse | undefined;
    let error: Error;
    try {
      // No spread of an empty per-call config: every key costs axios a merge step.
      const request: AxiosRequestConfig =
        config === EMPTY
          ? { url: state.url, method: state.method, baseURL: instance.url, signal: controller }
          : { ...config, url: state.url, method: state.method, baseURL: instance.url, signal: controller };
      if (headers !== undefined) request.headers = headers as AxiosRequestConfig['headers'];
      if (state.data !== undefined) request.data = state.data;
      if (state.absolute) {
        // A same-origin absolute URL, checked against this instance's origin.
        request.baseURL = undefined;
        request.allowAbsoluteUrls = true;
      }
      if (this.#ownAxios) {
        // Our own instance never lets axios follow redirects (this client does).
        if (config.maxRedirects !== undefined) request.maxRedirects = 0;
        if (config.proxy === undefined && this.#isDirect(instance.url)) request.proxy = false;
      }
      // Our own instance has the agents and `validateStatus: null` as defaults.
      if (!this.#ownAxios || config.validateStatus !== undefined) request.validateStatus = null;
      if (!this.#ownAxios && this.#agents !== undefined && config.httpAgent === undefined) {
        request.httpAgent = this.#agents.httpAgent;
        request.httpsAgent = this.#agents.httpsAgent;
      }
      // Raced against the attempt's signal: a timeout ends the attempt at once,
      // axios tears the request down a turn later.
      let response = await controller.race(this.#axios.request(request));
      if (this.#ownAxios && REDIRECTS.has(response.status)) {
        const limit = config.maxRedirects ?? this.#maxRedirects;
        if (limit > 0) {
          response = await this.#followRedirects(
            request,
            response,
            limit,
            config.proxy === undefined,
            controller,
          );
        }
      }
      status = response.status;
      outcome = statusOutcome(status);
      const accept =
        config.validateStatus === undefined
          ? defaultValidateStatus
          : config.validateStatus === null
            ? acceptEveryStatus
            : config.validateStatus;
      if (accept(status)) {
        result = response;
        error = undefined as never;
      } else {
        error = this.#statusError(state, instance, response, outcome);
      }
    } catch (err) {
      ({ outcome, error } = this.#networkError(state, instance, err, attemptSignal, byDeadline, timeoutMs));
    } finally {
      SHARED_TIMEOUTS.cancel(timer);
      this.#running.delete(controller);
      if (onCallAbort !== undefined) callSignal?.removeEventListener('abort', onCallAbort);
    }
    const latencyMs = timed ? this.#clock.monotonic() - started : 0;
    releaseSlot?.();
    if (source?.onAttemptEnd !== undefined) {
      try {
        source.onAttemptEnd(this.service, instance.id, { outcome, latencyMs, status }, token);
      } catch (err) {
        this.#logger?.error?.('registry onAttemptEnd threw', { service: this.service, error: String(err) });
      }
    }
    breaker?.release(
      permit,
      outcome === 'cancelled' ? 'neutral' : isFailureOutcome(outcome) ? 'failure' : 'success',
    );
    if (timed && this.#events.has('attempt')) {
      this.#events.emit('attempt', {
        service: this.service,
        instanceId: instance.id,
        method: state.method,
        url: pathOf(state.url),
        attempt,
        outcome,
        status,
        latencyMs,
      });
    }
    if (result !== undefined) return result;
    throw error;
  }

  /**
   * Follows up to `limit` redirects of one attempt (own axios instance,
   * which never follows them itself), like a browser: 303, and 301/302
   * after a POST, go on as GET without a body; credentials are dropped when
   * the origin changes; only http(s) targets. Returns the last answer.
   */
  async #followRedirects(
    first: AxiosRequestConfig,
    response: AxiosResponse,
    limit: number,
    envProxy: boolean,
    signal: AttemptSignal,
  ): Promise<AxiosResponse> {
    let request = first;
    let current = response;
    let at: URL;
    try {
      at = new URL(joinUrl(first.baseURL ?? '', first.url ?? ''));
    } catch {
      return response;
    }
    for (let n = 0; n < limit && REDIRECTS.has(current.status); n++) {
      const location = (current.headers as Record<string, unknown>).location;
      if (typeof location !== 'string' || location === '') return current;
      let next: URL;
      try {
        next = new URL(location, at);
      } catch {
        return current;
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:') return current;
      const headers = { ...(request.headers as Record<string, unknown> | undefined) };
      let method = String(request.method ?? 'GET').toUpperCase();
      const status = current.status;
      const asGet =
        status === 303 ? method !== 'HEAD' : (status === 301 || status === 302) && method === 'POST';
      if (asGet) {
        method = 'GET';
        deleteHeaders(headers, BODY_HEADERS);
      }
      const crossOrigin = next.origin !== at.origin;
      if (crossOrigin) deleteHeaders(headers, CREDENTIAL_HEADERS);
      const nextRequest: AxiosRequestConfig = {
        ...request,
        url: next.href,
        baseURL: undefined,
        method,
        headers: headers as AxiosRequestConfig['headers'],
      };
      if (asGet) delete nextRequest.data;
      if (crossOrigin) delete nextRequest.auth;
      if (envProxy) {
        if (this.#isDirect(next.protocol)) nextRequest.proxy = false;
        else delete nextRequest.proxy;
      }
      request = nextRequest;
      at = next;
      // A streamed 3xx body is drained so its keep-alive socket goes back to the pool.
      const body = current.data as { resume?: () => void } | undefined;
      if (typeof body?.resume === 'function') body.resume();
      current = await signal.race(this.#axios.request(request));
    }
    return current;
  }

  /**
   * True when no proxy variable of the environment is set for the protocol
   * of `url` (`http:` or `https:`, or a URL starting with one): read once
   * per protocol. When one is set, axios decides per request as usual
   * (`NO_PROXY` included).
   */
  #isDirect(url: string): boolean {
    const protocol = url.startsWith('https:') ? 'https' : 'http';
    let direct = this.#direct.get(protocol);
    if (direct === undefined) {
      direct = PROXY_VARIABLES[protocol].every((name) => !process.env[name]);
      this.#direct.set(protocol, direct);
    }
    return direct;
  }

  #statusError(
    state: CallState,
    instance: UpstreamInstance,
    response: AxiosResponse,
    outcome: AttemptOutcome,
  ): Error {
    const status = response.status;
    const error = new HttpStatusError(`${state.method} ${pathOf(state.url)} answered ${status}`, {
      response: {
        status,
        headers: { ...(response.headers as Record<string, unknown>) },
        data: response.data,
      },
      method: state.method,
      url: redactUrl(joinUrl(instance.url, state.url)),
    });
    const retryable = state.replayable && this.#retryOnStatus.has(status);
    const retryAfterMs = retryable
      ? parseRetryAfterMs((response.headers as Record<string, unknown>)['retry-after'], this.#clock.now())
      : undefined;
    this.#remember(state, error, { outcome, retryable, retryAfterMs });
    return error;
  }

  #networkError(
    state: CallState,
    instance: UpstreamInstance,
    err: unknown,
    signal: AbortSignal,
    byDeadline: boolean,
    timeoutMs: number,
  ): { outcome: AttemptOutcome; error: Error } {
    if (signal.aborted) {
      if (signal.reason === TIMEOUT) {
        const error = this.#timeoutError(state, byDeadline, timeoutMs, true);
        return { outcome: 'timeout', error };
      }
      if (signal.reason === CLOSED) {
        return {
          outcome: 'cancelled',
          error: new ClosedError('ServiceClient was closed while the call was in flight'),
        };
      }
      return { outcome: 'cancelled', error: abortedError(signal) };
    }
    // The upstream answered with a body the client refuses (a data error,
    // not an outage: no retry, no failure on the breaker or the registry).
    const bodyError = responseBodyFailure(err, `${state.method} ${pathOf(state.url)}`);
    if (bodyError !== undefined) return { outcome: 'client_error', error: bodyError };
    if (isScaleoutError(err)) return { outcome: 'cancelled', error: err };
    const code = (err as { code?: unknown } | null)?.code;
    const hasRequest = (err as { request?: unknown } | null)?.request !== undefined;
    if (typeof code === 'string' && CONNECT_CODES.has(code)) {
      const error = new ConnectionError(`cannot connect to ${redactUrl(instance.url)} (${code})`, {
        cause: sanitizedCause(err),
      });
      // Nothing was sent: safe to replay whatever the method.
      this.#remember(state, error, { outcome: 'connect_error', retryable: true, retryAfterMs: undefined });
      return { outcome: 'connect_error', error };
    }
    if (!hasRequest && (typeof code !== 'string' || (code.startsWith('ERR_') && code !== 'ERR_NETWORK'))) {
      // axios refused the config (bad URL, bad option): not an upstream fault.
      const error = new InvalidArgumentError(
        `axios refused ${state.method} ${pathOf(state.url)}${typeof code === 'string' ? ` (${code})` : ''}`,
        {
          cause: sanitizedCause(err),
        },
      );
      return { outcome: 'client_error', error };
    }
    const error = new ConnectionError(
      `connection to ${redactUrl(instance.url)} failed during ${state.method} ${pathOf(state.url)}${typeof code === 'string' ? ` (${code})` : ''}`,
      { cause: sanitizedCause(err) },
    );
    this.#remember(state, error, {
      outcome: 'connection_reset',
      retryable: state.replayable,
      retryAfterMs: undefined,
    });
    return { outcome: 'connection_reset', error };
  }

  #timeoutError(state: CallState, byDeadline: boolean, timeoutMs: number, sent: boolean): TimeoutError {
    if (byDeadline) return this.#deadlineError(state);
    const error = new TimeoutError(
      `${state.method} ${pathOf(state.url)}: attempt timed out after ${timeoutMs} ms`,
      {
        timeoutMs,
      },
    );
    this.#remember(state, error, {
      outcome: 'timeout',
      retryable: state.replayable || !sent,
      retryAfterMs: undefined,
    });
    return error;
  }

  #deadlineError(state: CallState): TimeoutError {
    const timeoutMs = Math.max(0, Math.round(state.deadlineAt - state.startedAt));
    return new TimeoutError(`${state.method} ${pathOf(state.url)}: deadline of ${timeoutMs} ms exceeded`, {
      timeoutMs,
    });
  }

  #remember(state: CallState, error: Error, failure: Omit<Failure, 'method' | 'url'>): void {
    this.#failures.set(error, { ...failure, method: state.method, url: pathOf(state.url) });
  }
}

const TIMEOUT = Symbol('attempt timeout');
/** The abort reason of the attempts running when the client is closed. */
const CLOSED = Symbol('client closed');
const EVENTS: ReadonlySet<unknown> = new Set<keyof ServiceClientEvents>([
  'attempt',
  'retry',
  'breakerStateChange',
  'retryBudgetExhausted',
]);

/** Refuses an event name the client never emits, or a listener that is not a function. */
function checkListener(method: string, event: unknown, listener: unknown): void {
  if (!EVENTS.has(event)) {
    throw new InvalidArgumentError(
      `${method}(): unknown event; ServiceClient emits ${[...EVENTS].join(', ')}`,
      { argument: 'event' },
    );
  }
  if (typeof listener !== 'function') {
    throw new InvalidArgumentError(`${method}(): listener must be a function`, { argument: 'listener' });
  }
}

/** The error a call in flight at `close()` rejects with; `cause` is the last attempt's error. */
function closedDuring(last: unknown): ClosedError {
  if (isScaleoutError(last, 'ERR_CLOSED')) return last as ClosedError;
  return new ClosedError('ServiceClient was closed while the call was in flight', { cause: last });
}

function defaultValidateStatus(status: number): boolean {
  return status >= 200 && status < 300;
}

/** What axios' `validateStatus: null` means: every answer is the value. */
function acceptEveryStatus(): boolean {
  return true;
}

function statusOutcome(status: number): AttemptOutcome {
  if (status < 400) return 'success';
  if (status === 408) return 'timeout';
  if (status === 429) return 'overloaded';
  if (status >= 500) return 'server_error';
  return 'client_error';
}

function headerValue(headers: unknown, name: string): string | undefined {
  if (headers === null || typeof headers !== 'object') return undefined;
  for (const [key, value] of Object.entries(headers as Record<string, unknown>)) {
    if (key.toLowerCase() === name && typeof value === 'string') return value;
  }
  return undefined;
}

/** Index of the first of two characters in `text`, or -1. */
function firstOf(text: string, a: string, b: string): number {
  const i = text.indexOf(a);
  const j = text.indexOf(b);
  return i === -1 ? j : j === -1 ? i : Math.min(i, j);
}

function deleteHeaders(headers: Record<string, unknown>, names: readonly string[]): void {
  for (const key of Object.keys(headers)) {
    if (names.includes(key.toLowerCase())) delete headers[key];
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
  if (isPlainRecord(common)) Object.assign(flat, common);
  for (const [name, value] of Object.entries(headers)) {
    if (name === 'common') continue;
    if (isPlainRecord(value)) {
      if (Object.keys(value).length > 0) flat[name] = value;
    } else {
      flat[name] = value;
    }
  }
  return flat;
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** The URL path without its query string or fragment: what messages and events show (queries may hold secrets). */
function pathOf(url: string): string {
  const q = firstOf(url, '?', '#');
  return q === -1 ? url : url.slice(0, q);
}

function joinUrl(base: string, path: string): string {
  if (/^https?:\/\//i.test(path)) return path;
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}
