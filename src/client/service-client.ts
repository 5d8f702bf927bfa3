import type { AxiosResponse } from 'axios';
import { TypedEmitter } from '../internal/events.js';
import { Lifecycle } from '../internal/lifecycle.js';
import { durationOption } from '../internal/validate.js';
import { Bulkhead } from '../resilience/bulkhead.js';
import { ClientTelemetry } from '../telemetry/client-telemetry.js';
import { Telemetry } from '../telemetry/telemetry.js';
import { systemClock } from '../types.js';
import { AttemptOutcomes } from './attempt-outcome.js';
import { AxiosTransport } from './axios-transport.js';
import { BreakerRecovery } from './breaker-recovery.js';
import { CallRunner, clientRetryPolicy } from './call-runner.js';
import { type CallSettings, readCallState, type ServiceRequestConfig } from './call-state.js';
import { RequestConfigChecker, type RequestConfigShape } from './request-config.js';
import {
  checkListener,
  type DeprecatedServiceClientEvents,
  type ServiceClientEvents,
} from './service-client-events.js';
import {
  checkServiceClientArguments,
  resolveRetryOnStatus,
  resolveTransportLimits,
  SERVICE_CLIENT_DEFAULTS,
  type ServiceClientOptions,
} from './service-client-options.js';
import { resolveTarget, type ServiceClientTarget } from './service-client-target.js';
import { UpstreamPicker } from './upstream-picker.js';

/** The events `on`/`off` accept: the current names and the deprecated ones. */
type AnyServiceClientEvents = ServiceClientEvents & DeprecatedServiceClientEvents;

function dataOf(response: AxiosResponse): unknown {
  return response.data;
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
 * The parts, one file each: the target and options, the call's state
 * (`call-state.ts`), the attempt/retry loop (`call-runner.ts`), the
 * instance and its breaker (`upstream-picker.ts`), sending through axios
 * (`axios-transport.ts`, `redirects.ts`), how an attempt ended
 * (`attempt-outcome.ts`), the events (`service-client-events.ts`).
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
  readonly #events: TypedEmitter<ServiceClientEvents>;
  readonly #settings: CallSettings;
  readonly #picker: UpstreamPicker;
  readonly #transport: AxiosTransport;
  readonly #runner: CallRunner;
  readonly #recovery: BreakerRecovery;
  readonly #life = new Lifecycle('ServiceClient');

  constructor(target: ServiceClientTarget, options: ServiceClientOptions = {}) {
    const d = SERVICE_CLIENT_DEFAULTS;
    checkServiceClientArguments(target, options);
    options ??= {};
    const { service, fixed, source } = resolveTarget(target);
    this.service = service;
    const attemptTimeoutMs = durationOption(
      'attemptTimeoutMs',
      options.attemptTimeoutMs ?? d.attemptTimeoutMs,
    );
    const deadlineMs = durationOption('deadlineMs', options.deadlineMs ?? d.deadlineMs);
    const retryOnStatus = resolveRetryOnStatus(options.retry?.retryOnStatus ?? d.retry.retryOnStatus);
    const clock = options.clock ?? systemClock;
    const logger = options.logger;
    this.#settings = {
      config: new RequestConfigChecker(options.requestConfigKeys),
      absoluteUrls: options.absoluteUrls ?? d.absoluteUrls,
      fixedOrigin: fixed?.id,
      clock,
      deadlineMs,
      attemptTimeoutMs,
    };
    const events = new TypedEmitter<ServiceClientEvents>(logger);
    this.#events = events;
    const outcomes = new AttemptOutcomes(retryOnStatus, clock);
    const otel = Telemetry.create(options);
    const telemetry = otel === undefined ? undefined : new ClientTelemetry(otel, service);
    const retry = clientRetryPolicy({
      service,
      events,
      outcomes,
      clock,
      maxAttempts: options.retry?.maxAttempts ?? d.retry.maxAttempts,
      backoff: options.retry?.backoff ?? d.retry.backoff,
      budget: options.retryBudget,
      telemetry,
    });
    const bulkhead = options.bulkhead === false ? undefined : new Bulkhead(options.bulkhead);
    // Fast return: an instance back (announced, or reachable again) is probed at once.
    const recovery = new BreakerRecovery({
      probeNow: (id) => this.#picker.probeNow(id),
      extendOpen: (id) => this.#picker.extendOpen(id),
      trip: (id) => this.#picker.trip(id),
      service,
      logger,
      clock,
    });
    this.#recovery = recovery;
    if ('registry' in target) recovery.follow(target.registry);
    this.#picker = new UpstreamPicker({
      service,
      fixed,
      source,
      breaker: options.breaker ?? {},
      clock,
      logger,
      hold: (instanceId) => recovery.nextVerdict(instanceId),
      check: (instanceId, url) => recovery.check(instanceId, url),
      onStateChange: (instanceId, change, context) => {
        telemetry?.breakerChanged(instanceId, change);
        recovery.onStateChange(instanceId, change, context);
        events.emit('breaker-state-change', { ...change, service, instanceId });
      },
    });
    const { maxSockets, maxRedirects } = resolveTransportLimits(options);
    this.#transport = new AxiosTransport({
      axios: options.axios,
      maxSockets,
      maxRedirects,
      maxResponseBytes: options.maxResponseBytes ?? d.maxResponseBytes,
      attemptTimeoutMs,
      beforeResend: (picked) => this.#picker.beforeResend(picked),
    });
    this.#runner = new CallRunner({
      service,
      events,
      clock,
      logger,
      source,
      picker: this.#picker,
      transport: this.#transport,
      outcomes,
      bulkhead,
      retry,
      telemetry,
    });
  }

  /**
   * Subscribes to an event; returns a function that unsubscribes.
   *
   * @example
   * ```ts
   * const stop = client.on('retry', (e) => log.info(`retry ${e.attempt} of ${e.method} ${e.url}`));
   * stop();
   * ```
   */
  on<K extends keyof ServiceClientEvents & string>(
    event: K,
    listener: (payload: ServiceClientEvents[K]) => void,
  ): () => void;
  /** @deprecated Use the kebab-case name: `breaker-state-change`, `retry-budget-exhausted`. */
  on<K extends keyof DeprecatedServiceClientEvents & string>(
    event: K,
    listener: (payload: DeprecatedServiceClientEvents[K]) => void,
  ): () => void;
  on<K extends keyof AnyServiceClientEvents & string>(
    event: K,
    listener: (payload: AnyServiceClientEvents[K]) => void,
  ): () => void {
    const name = checkListener('on', event, listener);
    return this.#events.on(name, listener as (payload: unknown) => void);
  }

  /**
   * Unsubscribes a listener added with {@link on} (by either name of its event).
   *
   * @example
   * ```ts
   * client.off('attempt', onAttempt);
   * ```
   */
  off<K extends keyof ServiceClientEvents & string>(
    event: K,
    listener: (payload: ServiceClientEvents[K]) => void,
  ): void;
  /** @deprecated Use the kebab-case name: `breaker-state-change`, `retry-budget-exhausted`. */
  off<K extends keyof DeprecatedServiceClientEvents & string>(
    event: K,
    listener: (payload: DeprecatedServiceClientEvents[K]) => void,
  ): void;
  off<K extends keyof AnyServiceClientEvents & string>(
    event: K,
    listener: (payload: AnyServiceClientEvents[K]) => void,
  ): void {
    const name = checkListener('off', event, listener);
    this.#events.off(name, listener as (payload: unknown) => void);
  }

  /**
   * The state of the circuit breaker of an instance (`closed` if it has none yet).
   *
   * @example
   * ```ts
   * if (inventory.breakerState('inventory-1') === 'open') log.warn('inventory-1 is failing fast');
   * ```
   */
  breakerState(instanceId?: string): 'closed' | 'open' | 'half-open' {
    return this.#picker.breakerState(instanceId);
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
   * Ends every call: calls in flight (an attempt running, waiting for a
   * bulkhead slot or an instance, or sleeping before a retry) reject with
   * `ClosedError` (its `cause` is the last attempt's error, when one
   * failed), and so do later calls. Then destroys the sockets of the agents
   * the client created; an axios instance (and its agents) or a registry
   * passed in stays open for its owner. Idempotent: every call gets the same
   * promise.
   *
   * @example
   * ```ts
   * process.on('SIGTERM', () => void inventory.close());
   * ```
   */
  close(): Promise<void> {
    return this.#life.close(() => {
      this.#recovery.close();
      this.#picker.close();
      this.#runner.close();
      this.#transport.close();
      this.#events.clear();
    });
  }

  /**
   * Same as {@link close}.
   *
   * @example
   * ```ts
   * await using inventory = new ServiceClient({ baseUrl: 'http://127.0.0.1:4001' });
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Reads and checks a call's arguments, then runs it (see `call-runner.ts`). */
  #call(
    method: string | undefined,
    url: unknown,
    data: unknown,
    config: unknown,
    map: ((response: AxiosResponse) => unknown) | undefined,
    where: string,
    shape: RequestConfigShape,
  ): Promise<unknown> {
    let state: ReturnType<typeof readCallState>;
    try {
      this.#life.assertOpen();
      state = readCallState(this.#settings, method, url, data, config, where, shape);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#runner.run(state, map);
  }
}
