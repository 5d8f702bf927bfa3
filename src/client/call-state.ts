import type { AxiosRequestConfig } from 'axios';
import { InvalidArgumentError, InvalidOptionsError } from '../errors.js';
import { readKeyHeader } from '../idempotency/idempotency-key.js';
import { abortedError } from '../internal/abort.js';
import { durationOption, keyArgument } from '../internal/validate.js';
import type { CallTrace } from '../telemetry/client-telemetry.js';
import type { Clock } from '../types.js';
import { inheritedDeadline } from './inherited-deadline.js';
import type { RequestConfigChecker, RequestConfigShape } from './request-config.js';
import { type AbsoluteUrlPolicy, isUpstreamPath, sameOriginUrl } from './request-url.js';

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
  /**
   * Makes a POST/PATCH retryable; sent as the `Idempotency-Key` header.
   * 1 to 255 printable ASCII characters, sent as they are: no leading or
   * trailing space, and no leading `"` (a server reads that as a quoted
   * string); anything else is refused with `InvalidArgumentError`.
   */
  idempotencyKey?: string;
  /** Time limit of this call, in ms (overrides `deadlineMs` of the client). */
  deadlineMs?: number;
  /**
   * Absolute deadline, epoch ms (from {@link readDeadline} of an incoming
   * request); the earlier one wins. Without it, a call made while the
   * monitor middleware handle a request that carried a deadline header
   * inherits that deadline; `Infinity` opts out.
   */
  deadlineAt?: number | undefined;
  /** Time limit of each attempt of this call, in ms. */
  attemptTimeoutMs?: number;
}

/**
 * What one call is, read and checked once before its first attempt: every
 * attempt and the retry decisions read it.
 *
 * @internal
 */
export interface CallState {
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
  /** The call's span, when it is traced (set by the runner). */
  trace: CallTrace | undefined;
}

/**
 * What {@link readCallState} needs of its client: fixed at construction.
 *
 * @internal
 */
export interface CallSettings {
  readonly config: RequestConfigChecker;
  readonly absoluteUrls: AbsoluteUrlPolicy;
  /** The origin of a `{ baseUrl }` target (what `'same-origin'` compares to). */
  readonly fixedOrigin: string | undefined;
  readonly clock: Clock;
  readonly deadlineMs: number;
  readonly attemptTimeoutMs: number;
}

/** The per-call config when the call passed none (`===` tells the transport to skip a spread). */
export const EMPTY_CONFIG: ServiceRequestConfig = Object.freeze({});

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/**
 * Reads and checks a call's arguments (see `RequestConfigChecker.read`),
 * resolves its URL, deadline, attempt timeout and idempotency key, and
 * whether it may be replayed (an idempotent method, or a key). Throws a
 * typed error for bad input, or `AbortedError` when the call's signal has
 * already fired.
 *
 * @internal
 */
export function readCallState(
  settings: CallSettings,
  rawMethod: string | undefined,
  rawUrl: unknown,
  rawData: unknown,
  rawConfig: unknown,
  where: string,
  shape: RequestConfigShape,
): CallState {
  const call = settings.config.read(rawMethod, rawUrl, rawData, rawConfig, where, shape);
  const { method, data } = call;
  const config = (call.config ?? EMPTY_CONFIG) as ServiceRequestConfig;
  let url = call.url;
  const absolute = !isUpstreamPath(url);
  if (absolute) url = sameOriginUrl(url, settings.absoluteUrls, settings.fixedOrigin);
  const now = settings.clock.now();
  const deadlineMs =
    config.deadlineMs === undefined ? settings.deadlineMs : durationOption('deadlineMs', config.deadlineMs);
  let deadlineAt = now + deadlineMs;
  if (config.deadlineAt !== undefined) {
    if (typeof config.deadlineAt !== 'number' || Number.isNaN(config.deadlineAt)) {
      throw new InvalidArgumentError('deadlineAt must be epoch milliseconds', { argument: 'deadlineAt' });
    }
    deadlineAt = Math.min(deadlineAt, config.deadlineAt);
  } else {
    // The deadline of the request being handled (monitor middleware), on this client's clock.
    const inherited = inheritedDeadline();
    if (inherited !== undefined) deadlineAt = Math.min(deadlineAt, now + (inherited - Date.now()));
  }
  const attemptTimeoutMs =
    config.attemptTimeoutMs === undefined
      ? settings.attemptTimeoutMs
      : durationOption('attemptTimeoutMs', config.attemptTimeoutMs);
  const fromHeader = headerKey(config.headers, where);
  let idempotencyKey = fromHeader;
  if (config.idempotencyKey !== undefined) {
    idempotencyKey = optionKey(config.idempotencyKey);
    // Both given: they must name one key (the header may quote it), or which one the server sees is a guess.
    const read = fromHeader === undefined ? undefined : readKeyHeader(fromHeader, MAX_KEY_LENGTH);
    if (read !== undefined && !(read.kind === 'key' && read.key === idempotencyKey)) {
      throw new InvalidOptionsError(
        `${where} config: idempotencyKey and the Idempotency-Key header name different keys; give one`,
        { option: 'idempotencyKey' },
      );
    }
  }
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
    trace: undefined,
  };
}

/** The longest idempotency key: what the idempotency middleware accepts by default. */
const MAX_KEY_LENGTH = 255;

/**
 * The `idempotencyKey` option, checked to reach the server as given: what
 * the idempotency middleware would read back from the header is the key
 * itself (printable ASCII, not trimmed, not unquoted). Node and axios would
 * drop characters past Latin-1 and control characters from a header
 * value, so two keys could arrive as one.
 */
function optionKey(value: unknown): string {
  const key = keyArgument('idempotencyKey', value, MAX_KEY_LENGTH);
  const read = readKeyHeader(key, MAX_KEY_LENGTH);
  if (read.kind !== 'key' || read.key !== key) {
    throw new InvalidArgumentError(
      'idempotencyKey must be printable ASCII (space to ~), without leading or trailing space and not starting with a double quote, so that the server receives it unchanged',
      { argument: 'idempotencyKey' },
    );
  }
  return key;
}

/**
 * A key given as an `Idempotency-Key` header: refused unless the
 * idempotency middleware would read it as a key (printable ASCII, a quoted
 * string if it starts with `"`, at most 255 characters).
 */
function headerKey(headers: unknown, where: string): string | undefined {
  const value = headerValue(headers, 'idempotency-key');
  if (value === undefined) return undefined;
  const read = readKeyHeader(value, MAX_KEY_LENGTH);
  if (read.kind === 'invalid') {
    throw new InvalidOptionsError(`${where} config: the Idempotency-Key header is invalid: ${read.reason}`, {
      option: 'headers',
    });
  }
  return value;
}

function headerValue(headers: unknown, name: string): string | undefined {
  if (headers === null || typeof headers !== 'object') return undefined;
  for (const [key, value] of Object.entries(headers as Record<string, unknown>)) {
    if (key.toLowerCase() === name && typeof value === 'string') return value;
  }
  return undefined;
}
