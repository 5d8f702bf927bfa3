import type { AxiosResponse } from 'axios';
import type { CallOutcome, UpstreamInstance } from '../contracts/upstream.js';
import {
  ClosedError,
  ConnectionError,
  HttpStatusError,
  InvalidArgumentError,
  isScaleoutError,
  TimeoutError,
} from '../errors.js';
import { abortedError } from '../internal/abort.js';
import { redactUrl } from '../internal/redact.js';
import { requestPath } from '../internal/request-path.js';
import type { Clock } from '../types.js';
import type { CallState } from './call-state.js';
import { isDrainRefusal } from './drain-refusal.js';
import { joinUrl } from './request-url.js';
import { responseBodyFailure, sanitizedCause } from './response-body.js';
import { parseRetryAfterMs } from './retry-after.js';

/** The abort reason of an attempt whose timeout fired. @internal */
export const TIMEOUT = Symbol('attempt timeout');
/** The abort reason of the attempts running when the client is closed. @internal */
export const CLOSED = Symbol('client closed');

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
]);

/**
 * What the client remembers about a failed attempt's error, for the retry
 * decision.
 *
 * @internal
 */
export interface Failure {
  method: string;
  url: string;
  outcome: CallOutcome;
  retryable: boolean;
  retryAfterMs: number | undefined;
}

/**
 * The outcome of an answer with HTTP status `status`.
 *
 * @internal
 */
export function statusOutcome(status: number, headers?: unknown): CallOutcome {
  if (headers !== undefined && isDrainRefusal(status, headers)) return 'overloaded';
  if (status < 400) return 'success';
  if (status === 408) return 'timeout';
  if (status === 429) return 'overloaded';
  if (status >= 500) return 'server-error';
  return 'client-error';
}

/**
 * Judges how an attempt ended: its {@link CallOutcome}, the typed error the
 * caller sees, and whether a retry may follow. A failure's retry facts
 * (retryable, `Retry-After`) are remembered per error object, where the
 * client's `RetryPolicy` reads them back:
 * - an answer with a status in `retryOnStatus` is retryable when the call
 *   may be replayed (an idempotent method, or an idempotency key);
 * - a connection that could not be made is retryable whatever the method
 *   (nothing was sent);
 * - a connection that broke, or an attempt that timed out after sending,
 *   only when the call may be replayed;
 * - a body the client refuses, a config axios refuses, an abort, the
 *   deadline: never.
 *
 * @internal
 */
export class AttemptOutcomes {
  readonly #failures = new WeakMap<object, Failure>();
  readonly #retryOnStatus: ReadonlySet<number>;
  readonly #clock: Clock;

  constructor(retryOnStatus: ReadonlySet<number>, clock: Clock) {
    this.#retryOnStatus = retryOnStatus;
    this.#clock = clock;
  }

  /** What was remembered about `error`, when it is a failed attempt's. */
  failureOf(error: unknown): Failure | undefined {
    return this.#failures.get(error as object);
  }

  statusError(
    state: CallState,
    instance: UpstreamInstance,
    response: AxiosResponse,
    outcome: CallOutcome,
  ): Error {
    const status = response.status;
    const error = new HttpStatusError(`${state.method} ${requestPath(state.url)} answered ${status}`, {
      response: {
        status,
        headers: { ...(response.headers as Record<string, unknown>) },
        data: response.data,
      },
      method: state.method,
      url: redactUrl(joinUrl(instance.url, state.url)),
    });
    // A draining instance's refusal never started: another instance may take it, whatever the method.
    const retryable =
      isDrainRefusal(status, response.headers) || (state.replayable && this.#retryOnStatus.has(status));
    const retryAfterMs = retryable
      ? parseRetryAfterMs((response.headers as Record<string, unknown>)['retry-after'], this.#clock.now())
      : undefined;
    this.#remember(state, error, { outcome, retryable, retryAfterMs });
    return error;
  }

  networkError(
    state: CallState,
    instance: UpstreamInstance,
    err: unknown,
    signal: AbortSignal,
    byDeadline: boolean,
    timeoutMs: number,
  ): { outcome: CallOutcome; error: Error } {
    if (signal.aborted) {
      if (signal.reason === TIMEOUT) {
        const error = this.timeoutError(state, byDeadline, timeoutMs, true);
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
    const bodyError = responseBodyFailure(err, `${state.method} ${requestPath(state.url)}`);
    if (bodyError !== undefined) return { outcome: 'client-error', error: bodyError };
    if (isScaleoutError(err)) return { outcome: 'cancelled', error: err };
    const code = (err as { code?: unknown } | null)?.code;
    const hasRequest = (err as { request?: unknown } | null)?.request !== undefined;
    if (typeof code === 'string' && CONNECT_CODES.has(code)) {
      const error = new ConnectionError(`cannot connect to ${redactUrl(instance.url)} (${code})`, {
        cause: sanitizedCause(err),
      });
      // Nothing was sent: safe to replay whatever the method.
      this.#remember(state, error, { outcome: 'connect-error', retryable: true, retryAfterMs: undefined });
      return { outcome: 'connect-error', error };
    }
    if (!hasRequest && (typeof code !== 'string' || (code.startsWith('ERR_') && code !== 'ERR_NETWORK'))) {
      // axios refused the config (bad URL, bad option): not an upstream fault.
      const error = new InvalidArgumentError(
        `axios refused ${state.method} ${requestPath(state.url)}${typeof code === 'string' ? ` (${code})` : ''}`,
        {
          cause: sanitizedCause(err),
        },
      );
      return { outcome: 'client-error', error };
    }
    const error = new ConnectionError(
      `connection to ${redactUrl(instance.url)} failed during ${state.method} ${requestPath(state.url)}${typeof code === 'string' ? ` (${code})` : ''}`,
      { cause: sanitizedCause(err) },
    );
    this.#remember(state, error, {
      outcome: 'connection-reset',
      retryable: state.replayable,
      retryAfterMs: undefined,
    });
    return { outcome: 'connection-reset', error };
  }

  timeoutError(state: CallState, byDeadline: boolean, timeoutMs: number, sent: boolean): TimeoutError {
    if (byDeadline) return this.deadlineError(state);
    const error = new TimeoutError(
      `${state.method} ${requestPath(state.url)}: attempt timed out after ${timeoutMs} ms`,
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

  deadlineError(state: CallState): TimeoutError {
    const timeoutMs = Math.max(0, Math.round(state.deadlineAt - state.startedAt));
    return new TimeoutError(
      `${state.method} ${requestPath(state.url)}: deadline of ${timeoutMs} ms exceeded`,
      {
        timeoutMs,
      },
    );
  }

  #remember(state: CallState, error: Error, failure: Omit<Failure, 'method' | 'url'>): void {
    this.#failures.set(error, { ...failure, method: state.method, url: requestPath(state.url) });
  }
}
