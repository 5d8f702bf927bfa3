import { PassThrough, type Readable } from 'node:stream';
import axios from 'axios';
import { ConnectionError, DeserializationError, isScaleoutError, PayloadTooLargeError } from '../errors.js';
import { assertSafePayload, mayCarryPollution } from '../serializer.js';

/**
 * What the client's own axios instance does with a response body before
 * the caller sees it, and how a refused body is reported: as a data error
 * (`UnsafePayloadError`, `PayloadTooLargeError`, `DeserializationError`),
 * never as an outage. A data error is not retried and not counted against
 * the instance (breaker, outlier ejection).
 */

/** axios' message when a body passes `maxContentLength`. */
const MAX_CONTENT_LENGTH = /^maxContentLength size of (\d+) exceeded/;

/** The part of axios' request config a response transform reads. */
interface TransformConfig {
  responseType?: unknown;
  transitional?: { forcedJSONParsing?: boolean };
}

/**
 * A response transform: text that axios is about to parse as JSON (its
 * own transform runs next, with its rules: any string body unless
 * `responseType` says otherwise) is refused with `UnsafePayloadError` when
 * it carries a prototype-pollution key, escaped ones included. Ordinary
 * bodies pay the serializer's substring pre-check; suspicious ones are
 * parsed once more and scanned.
 */
function refusePollutedJson(this: TransformConfig, data: unknown): unknown {
  if (typeof data !== 'string' || !mayCarryPollution(data)) return data;
  const responseType = this.responseType;
  const forced = this.transitional?.forcedJSONParsing ?? true;
  if (responseType !== 'json' && !(forced && !responseType)) return data;
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return data; // not JSON: axios keeps it as text
  }
  assertSafePayload(parsed);
  return data;
}

/**
 * The response transforms of the client's own axios instance: the
 * pollution check, then axios' defaults.
 *
 * @internal
 */
export function safeResponseTransforms(): Array<(this: TransformConfig, data: unknown) => unknown> {
  const defaults = axios.defaults.transformResponse;
  const rest = defaults === undefined ? [] : Array.isArray(defaults) ? defaults : [defaults];
  return [refusePollutedJson, ...(rest as Array<(data: unknown) => unknown>)];
}

/**
 * The typed data error for an attempt that failed on its response body
 * (`what` names the request, e.g. `GET /items`), or `undefined` when
 * `err` is something else.
 *
 * @internal
 */
export function responseBodyFailure(err: unknown, what: string): Error | undefined {
  if (isScaleoutError(err, 'ERR_UNSAFE_PAYLOAD')) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (code !== 'ERR_BAD_RESPONSE') return undefined;
  const tooLarge = MAX_CONTENT_LENGTH.exec(String((err as Error).message));
  if (tooLarge !== null) {
    const maxBytes = Number(tooLarge[1]);
    return new PayloadTooLargeError(
      `${what}: the response body is larger than ${maxBytes} bytes (maxResponseBytes / maxContentLength)`,
      { bytes: maxBytes + 1, maxBytes, cause: sanitizedCause(err) },
    );
  }
  if ((err as { cause?: unknown }).cause instanceof SyntaxError) {
    // responseType 'json' with strict parsing, and a body that is not JSON.
    return new DeserializationError(`${what}: the response body is not valid JSON (responseType 'json')`, {
      cause: sanitizedCause(err),
    });
  }
  return undefined;
}

/**
 * The body of a `responseType: 'stream'` answer (`what` names the request,
 * e.g. `GET /export`), as the caller reads it: the same bytes, through a
 * stream of the client's own whose errors are typed and carry nothing of
 * the request. A body past `maxContentLength` (`maxResponseBytes`) fails
 * with {@link PayloadTooLargeError}, as a buffered one does; any other
 * error of axios (which holds the request config, its headers included,
 * and the request) becomes a {@link ConnectionError} with a
 * {@link sanitizedCause}. Destroying the returned stream (a `break` out of
 * `for await`) destroys the response under it, freeing its socket.
 *
 * @internal
 */
export function guardedBodyStream(body: unknown, what: string): unknown {
  if (!isReadable(body)) return body;
  const out = new PassThrough();
  body.on('error', (err: unknown) => out.destroy(bodyStreamError(err, what)));
  out.on('close', () => {
    if (!body.readableEnded) body.destroy();
  });
  body.pipe(out);
  return out;
}

function bodyStreamError(err: unknown, what: string): Error {
  const typed = responseBodyFailure(err, what);
  if (typed !== undefined) return typed;
  const e = err as { config?: unknown; request?: unknown; response?: unknown; code?: unknown } | null;
  if (e === null || typeof e !== 'object' || (e.config ?? e.request ?? e.response) === undefined) {
    return err instanceof Error ? err : sanitizedCause(err);
  }
  const code = typeof e.code === 'string' ? ` (${e.code})` : '';
  return new ConnectionError(`${what}: reading the response body failed${code}`, {
    cause: sanitizedCause(err),
  });
}

function isReadable(value: unknown): value is Readable {
  const v = value as { pipe?: unknown; on?: unknown; destroy?: unknown } | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.pipe === 'function' &&
    typeof v.on === 'function' &&
    typeof v.destroy === 'function'
  );
}

/**
 * The cause kept on a client error: message and code only. An AxiosError
 * carries the request config (headers such as Authorization) and the socket;
 * none of that may ride along on an error that ends up in a log.
 *
 * @internal
 */
export function sanitizedCause(err: unknown): Error {
  const source = err as { message?: unknown; code?: unknown } | null;
  const cause = new Error(typeof source?.message === 'string' ? source.message : String(err));
  if (typeof source?.code === 'string') (cause as Error & { code?: string }).code = source.code;
  return cause;
}
