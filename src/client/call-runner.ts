/**
 * The client's attempt/retry loop: one call, its attempts, and the retries
 * between them.
 *
 * A call is a small state machine:
 *
 * ```text
 *              first attempt starts at once
 *   checked ───────────────────────────────> attempting(1)
 *                                              │      ▲
 *              answer accepted                 │      │ backoff (or a longer
 *   resolved <─────────────────────────────────┤      │ Retry-After) elapsed
 *                                              │      │
 *              failed, and no retry allowed    ▼      │
 *   rejected <──────────────────────────── judged ──> sleeping(n + 1) ──> attempting(n + 1)
 * ```
 *
 * - `checked`: the arguments were read once (`readCallState`): method, URL,
 *   deadline (the earlier of `deadlineMs` from now and a propagated
 *   `deadlineAt`), attempt timeout, idempotency key, and whether the call
 *   may be replayed. The first attempt runs here, outside `RetryPolicy`: a
 *   call that succeeds at once costs one `then` on top of its attempt.
 * - `attempting(n)`: one attempt ({@link CallRunner}'s `#attempt`), in this
 *   order: its timer armed on the shared deadline queue (the attempt
 *   timeout, or what is left of the deadline when that is shorter: then a
 *   timeout is the deadline's, never retried); a bulkhead slot; an
 *   instance picked and admitted by its breaker (an open circuit may hold
 *   the attempt a few ms for its connect probe's verdict, and a half-open
 *   one whose instance is known to be back, for its probes: see
 *   `upstream-picker.ts`); the source told
 *   (`onAttemptStart`); the request sent, redirects followed. However it
 *   ends (an answer, an error, its timeout, the caller's abort, `close()`),
 *   on the way out, exactly once each: the timer cancelled, the slot
 *   released, the source told (`onAttemptEnd`, with the token its start
 *   returned), the breaker permit given back (a failure outcome fails it,
 *   `cancelled` is neutral, the rest succeed), the `attempt` event.
 * - `judged`: an answer `validateStatus` accepts resolves the call;
 *   anything else becomes the caller's typed error (`AttemptOutcomes`),
 *   which remembers whether a retry may follow.
 * - `judged -> sleeping`: `RetryPolicy` decides, in order: not aborted;
 *   attempts left; the failure retryable; the wait (backoff, or
 *   `Retry-After` when longer) ends before the deadline; a token in the
 *   retry budget (else `RetryBudgetExhaustedError` and the
 *   `retry-budget-exhausted` event). The `retry` event precedes the sleep.
 *   Each retry excludes the instances the call already tried.
 * - From every state, `close()` leads to `rejected` with `ClosedError`
 *   (its `cause` the last attempt's error): running attempts are aborted
 *   with the `CLOSED` reason, a sleeping call is woken by the closing
 *   signal, and a call checked after close never starts.
 *
 * Why this shape: the deadline bounds the whole call (no retry starts that
 * could not finish), the budget bounds the load an outage adds, and every
 * resource an attempt takes (timer, slot, outstanding count, probe permit)
 * is given back in one place, so no outcome can leak one.
 *
 * @module
 */
import type { AxiosResponse } from 'axios';
import type { CallOutcome, UpstreamSource } from '../contracts/upstream.js';
import { ClosedError, isScaleoutError } from '../errors.js';
import { abortedError, anySignal } from '../internal/abort.js';
import type { TypedEmitter } from '../internal/events.js';
import { requestPath } from '../internal/request-path.js';
import { SHARED_TIMEOUTS } from '../internal/timeout-queue.js';
import type { Backoff, BackoffOptions } from '../resilience/backoff.js';
import type { Bulkhead } from '../resilience/bulkhead.js';
import type { RetryBudgetOptions } from '../resilience/retry-budget.js';
import { RetryPolicy, retryAfterFirstFailure } from '../resilience/retry-policy.js';
import type { AttemptTrace, ClientTelemetry } from '../telemetry/client-telemetry.js';
import type { Clock, Logger } from '../types.js';
import { type AttemptOutcomes, CLOSED, statusOutcome, TIMEOUT } from './attempt-outcome.js';
import { AttemptSignal } from './attempt-signal.js';
import type { AxiosTransport } from './axios-transport.js';
import type { CallState } from './call-state.js';
import { guardedBodyStream } from './response-body.js';
import type { ServiceClientEvents } from './service-client-events.js';
import type { Picked, UpstreamPicker } from './upstream-picker.js';

const NEVER = new AbortController().signal;

/**
 * What a {@link CallRunner} is built from: the client's parts.
 *
 * @internal
 */
export interface CallRunnerOptions {
  readonly service: string;
  readonly events: TypedEmitter<ServiceClientEvents>;
  readonly clock: Clock;
  readonly logger: Logger | undefined;
  /** The registry the picker asks, told of every attempt (none for a `{ baseUrl }` target). */
  readonly source: UpstreamSource | undefined;
  readonly picker: UpstreamPicker;
  readonly transport: AxiosTransport;
  readonly outcomes: AttemptOutcomes;
  readonly bulkhead: Bulkhead | undefined;
  /** The client's retry policy (see {@link clientRetryPolicy}). */
  readonly retry: RetryPolicy;
  /** Spans and metrics, when OpenTelemetry is there and not turned off. */
  readonly telemetry: ClientTelemetry | undefined;
}

/**
 * What {@link clientRetryPolicy} is built from.
 *
 * @internal
 */
export interface ClientRetryPolicyOptions {
  readonly service: string;
  readonly events: TypedEmitter<ServiceClientEvents>;
  readonly outcomes: AttemptOutcomes;
  readonly clock: Clock;
  readonly maxAttempts: number;
  readonly backoff: Backoff | BackoffOptions;
  /** The budget's options (its clock is the client's), or `false` for none. */
  readonly budget: Omit<RetryBudgetOptions, 'clock'> | false | undefined;
  /** Told of every retry (an event on the call's span). */
  readonly telemetry?: ClientTelemetry | undefined;
}

/**
 * The retry policy of a client: it retries what {@link AttemptOutcomes}
 * judged retryable, waits at least a `Retry-After`, and emits `retry`.
 *
 * @internal
 */
export function clientRetryPolicy(options: ClientRetryPolicyOptions): RetryPolicy {
  const { service, events, outcomes, clock, budget, telemetry } = options;
  return new RetryPolicy({
    maxAttempts: options.maxAttempts,
    backoff: options.backoff,
    budget: budget === false ? false : { ...budget, clock },
    shouldRetry: (err) => outcomes.failureOf(err)?.retryable === true,
    retryAfterMs: (err) => outcomes.failureOf(err)?.retryAfterMs,
    onRetry: (info) => {
      telemetry?.retry(info);
      const failure = outcomes.failureOf(info.error);
      if (failure === undefined || !events.has('retry')) return;
      events.emit('retry', {
        service,
        method: failure.method,
        url: failure.url,
        attempt: info.attempt,
        delayMs: info.delayMs,
        errorCode: (info.error as { code?: string }).code ?? 'unknown',
      });
    },
    clock,
  });
}

/**
 * Runs the calls of a {@link ServiceClient} (see the module notes for the
 * states of a call and of an attempt).
 *
 * @internal
 */
export class CallRunner {
  readonly #service: string;
  readonly #events: TypedEmitter<ServiceClientEvents>;
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;
  readonly #source: UpstreamSource | undefined;
  readonly #picker: UpstreamPicker;
  readonly #transport: AxiosTransport;
  readonly #outcomes: AttemptOutcomes;
  readonly #bulkhead: Bulkhead | undefined;
  readonly #retry: RetryPolicy;
  readonly #telemetry: ClientTelemetry | undefined;
  /** The attempts running now: `close()` ends each one with `ClosedError`. */
  readonly #running = new Set<AttemptSignal>();
  /** Fires on `close()`: wakes calls sleeping between attempts. */
  readonly #closing = new AbortController();
  #closed = false;

  constructor(options: CallRunnerOptions) {
    this.#service = options.service;
    this.#events = options.events;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#source = options.source;
    this.#picker = options.picker;
    this.#transport = options.transport;
    this.#outcomes = options.outcomes;
    this.#bulkhead = options.bulkhead;
    this.#retry = options.retry;
    this.#telemetry = options.telemetry;
  }

  /**
   * Runs a call; `map` turns the response into the caller's value (one
   * `then` for the value and the error path: every promise hop costs on
   * the hot path).
   */
  run(state: CallState, map: ((response: AxiosResponse) => unknown) | undefined): Promise<unknown> {
    // The first attempt runs here, not inside RetryPolicy.execute: a call that
    // succeeds at once then costs one `then` on top of the attempt.
    const retry = this.#retry;
    retry.budget?.recordRequest();
    const telemetry = this.#telemetry;
    if (telemetry !== undefined) {
      const trace = telemetry.startCall(state);
      if (trace !== undefined) {
        state.trace = trace;
        return this.#attempt(state, 1)
          .then(map, (first: unknown) => this.#retryAfter(state, first, map))
          .then(
            (value) => {
              telemetry.endCall(trace);
              return value;
            },
            (err: unknown) => {
              telemetry.endCall(trace, err);
              throw err;
            },
          );
      }
    }
    return this.#attempt(state, 1).then(map, (first: unknown) => this.#retryAfter(state, first, map));
  }

  /**
   * Ends every call in flight: running attempts abort with the `CLOSED`
   * reason, calls sleeping before a retry wake up; later attempts refuse to
   * start. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const attempt of [...this.#running]) attempt.abort(CLOSED);
    this.#running.clear();
    this.#closing.abort(new ClosedError('ServiceClient is closed'));
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
      const response = await retryAfterFirstFailure(
        this.#retry,
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
      if (isScaleoutError(err, 'ERR_RETRY_BUDGET_EXHAUSTED')) this.#telemetry?.budgetRefused(state.trace);
      if (isScaleoutError(err, 'ERR_RETRY_BUDGET_EXHAUSTED') && this.#events.has('retry-budget-exhausted')) {
        this.#events.emit('retry-budget-exhausted', {
          service: this.#service,
          method: state.method,
          url: requestPath(state.url),
        });
      }
      throw err;
    } finally {
      combined.dispose();
    }
  }

  async #attempt(state: CallState, attempt: number): Promise<AxiosResponse> {
    if (this.#closed) throw new ClosedError('ServiceClient is closed');
    // The first attempt starts where the call did (no second clock read).
    const remaining = state.deadlineAt - (attempt === 1 ? state.startedAt : this.#clock.now());
    if (remaining <= 0) throw this.#outcomes.deadlineError(state);
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
      const pick = this.#picker.pick(state);
      if (pick instanceof Promise) {
        // Bounded by the attempt: a registry that does not answer meets the
        // timeout, the caller's abort or close(); a pick that lands later
        // gives its breaker permit back.
        pick.then(
          (late) => {
            if (controller.aborted) this.#picker.release(late, 'cancelled');
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
      if (controller.reason === TIMEOUT)
        throw this.#outcomes.timeoutError(state, byDeadline, timeoutMs, false);
      if (controller.reason === CLOSED)
        throw new ClosedError('ServiceClient was closed while the call was in flight');
      if (controller.aborted && !isScaleoutError(err)) throw abortedError(attemptSignal);
      throw err;
    }
    const { instance, breaker } = picked;
    if (this.#source !== undefined) {
      if (state.tried === undefined) state.tried = new Set();
      state.tried.add(instance.id);
    }
    const source = this.#source;
    let token: unknown;
    if (source?.onAttemptStart !== undefined) {
      try {
        token = source.onAttemptStart(this.#service, instance.id);
        // Not awaited (the promise is the token); a rejection is reported.
        if (isThenable(token)) this.#watch(token, 'onAttemptStart', instance.id);
      } catch (err) {
        this.#sourceFailed('onAttemptStart', instance.id, err);
      }
    }
    const config = state.config;
    const telemetry = this.#telemetry;
    const traced: AttemptTrace | undefined =
      telemetry === undefined
        ? undefined
        : telemetry.startAttempt(
            state.trace,
            state,
            attempt,
            instance,
            breaker === undefined ? 'none' : breaker.state,
            state.deadlineAt - this.#clock.now(),
          );
    // Latency is measured only for whom reads it: the registry, `attempt` listeners
    // and http.client.request.duration (one measurement for all three).
    const timed =
      source?.onAttemptEnd !== undefined ||
      this.#events.has('attempt') ||
      traced?.metricAttributes !== undefined;
    const started = timed ? this.#clock.monotonic() : 0;
    let outcome: CallOutcome;
    let status: number | undefined;
    let result: AxiosResponse | undefined;
    let error: Error;
    try {
      const transport = this.#transport;
      const request = transport.requestFor(state, instance, timeoutMs, controller, traced?.headers);
      let response = await transport.send(request, controller, state.replayable, picked);
      const redirects = transport.redirectsAfter(response, config);
      if (redirects > 0) {
        response = await transport.followRedirects(request, response, redirects, config, controller);
      }
      if (config.responseType === 'stream') {
        response.data = guardedBodyStream(response.data, `${state.method} ${requestPath(state.url)}`);
      }
      status = response.status;
      outcome = status === 503 ? statusOutcome(status, response.headers) : statusOutcome(status);
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
        error = this.#outcomes.statusError(state, instance, response, outcome);
      }
    } catch (err) {
      ({ outcome, error } = this.#outcomes.networkError(
        state,
        instance,
        err,
        attemptSignal,
        byDeadline,
        timeoutMs,
      ));
    } finally {
      SHARED_TIMEOUTS.cancel(timer);
      this.#running.delete(controller);
      if (onCallAbort !== undefined) callSignal?.removeEventListener('abort', onCallAbort);
    }
    const latencyMs = timed ? this.#clock.monotonic() - started : 0;
    releaseSlot?.();
    if (source?.onAttemptEnd !== undefined) {
      try {
        const ended: unknown = source.onAttemptEnd(
          this.#service,
          instance.id,
          { outcome, latencyMs, status },
          token,
        );
        if (isThenable(ended)) this.#watch(ended, 'onAttemptEnd', instance.id);
      } catch (err) {
        this.#sourceFailed('onAttemptEnd', instance.id, err);
      }
    }
    if (traced !== undefined) {
      telemetry!.releasing(traced);
      this.#picker.release(picked, outcome);
      telemetry!.releasing(undefined);
      telemetry!.endAttempt(
        state.trace,
        traced,
        outcome,
        status,
        result === undefined ? error : undefined,
        latencyMs,
      );
    } else {
      this.#picker.release(picked, outcome);
    }
    if (timed && this.#events.has('attempt')) {
      this.#events.emit('attempt', {
        service: this.#service,
        instanceId: instance.id,
        method: state.method,
        url: requestPath(state.url),
        attempt,
        outcome,
        status,
        latencyMs,
      });
    }
    if (result !== undefined) return result;
    throw error;
  }

  /** Reports a rejection of what a source callback returned (never an unhandled rejection). */
  #watch(result: PromiseLike<unknown>, operation: SourceCallback, instanceId: string): void {
    Promise.resolve(result).then(undefined, (err: unknown) => this.#sourceFailed(operation, instanceId, err));
  }

  /** A source callback threw or rejected: the logger and the `error` event hear of it; the call goes on. */
  #sourceFailed(operation: SourceCallback, instanceId: string, error: unknown): void {
    this.#logger?.error?.(`registry ${operation} failed`, { service: this.#service, error: String(error) });
    if (this.#events.has('error')) {
      this.#events.emit('error', { service: this.#service, instanceId, operation, error });
    }
  }
}

type SourceCallback = 'onAttemptStart' | 'onAttemptEnd';

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
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
