import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { AuthContext } from '../auth/authorizer.js';
import { CorruptDataError, InvalidArgumentError, InvalidOptionsError, isScaleoutError } from '../errors.js';
import { durationOption } from '../internal/validate.js';
import { fingerprintRequest } from './fingerprint.js';
import {
  checkCombinedOptions,
  checkHttpOptions,
  IDEMPOTENCY_HTTP_DEFAULTS,
  IDEMPOTENCY_HTTP_OPTION_KEYS,
  type IdempotencyHttpOptions,
  type IdempotencyRequestFacts,
} from './http-options.js';
import { IDEMPOTENCY_DRAFT_URL, type IdempotencyProblem, PROBLEMS } from './http-problem.js';
import { Idempotency } from './idempotency.js';
import type { IdempotencyClaim } from './idempotency-claim.js';
import { readKeyHeader } from './idempotency-key.js';
import type { IdempotencyOptions } from './idempotency-options.js';
import { type CapturedResponse, captureResponse } from './response-capture.js';
import {
  isStorableHeader,
  isStorableStatusMessage,
  MAX_STORED_HEADERS,
  type StoredResult,
} from './stored-result.js';

/**
 * What the HTTP middleware is given: an {@link Idempotency} (shared by
 * routes, its events and `close()` yours), or one object with the options
 * of both (an Idempotency is then made for this middleware).
 *
 * @example
 * ```ts
 * const input: IdempotencyMiddlewareInput = { adapter: redisIdempotencyStore({ connection: redis }), required: true };
 * ```
 */
export type IdempotencyMiddlewareInput =
  | Idempotency
  | (IdempotencyOptions & Omit<IdempotencyHttpOptions, 'ttlMs'>);

/**
 * @internal The framework-free core's decision for one request: let it
 * through untouched (`pass`), run it while watching its response (`run`:
 * call `capture` with the node response before the handler runs), or
 * answer it (`respond`: a replay, or a 400 / 409 / 422 problem).
 */
export type IdempotencyHttpDecision =
  | { readonly action: 'pass' }
  | { readonly action: 'run'; capture(res: ServerResponse): void }
  | {
      readonly action: 'respond';
      readonly status: number;
      /** The status line's reason phrase, when it is not the standard one (a replay of a chosen one). */
      readonly statusMessage?: string | undefined;
      /** One value per header, or every value in order of a header sent more than once. */
      readonly headers: Record<string, string | string[]>;
      readonly body: Buffer;
      /** True for a replay of a stored response. */
      readonly replayed: boolean;
    };

/** @internal What a framework wrapper reads from its request. */
export interface IdempotencyHttpRequest extends IdempotencyRequestFacts {
  /** The key header's value(s): `headersDistinct[name]` where available, so a repeated header is seen. */
  readonly keyHeader: unknown;
}

const PASS: IdempotencyHttpDecision = Object.freeze({ action: 'pass' });
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,100}$/;
/** Never kept: they describe the connection or the client's state, not the response. */
const NEVER_STORED = new Set([
  'set-cookie',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'content-encoding',
  'upgrade',
  'te',
  'trailer',
  'proxy-authenticate',
  'date',
  'idempotency-replayed',
]);
/** Outcomes that say "try again", not "this is the answer": never kept, so a retry runs. */
const NOT_STORED_STATUS = new Set([408, 425, 429]);

function stringList(name: string, value: unknown, max: number, pattern: RegExp): string[] {
  if (
    !Array.isArray(value) ||
    value.length > max ||
    value.some((v) => typeof v !== 'string' || !pattern.test(v))
  ) {
    throw new InvalidOptionsError(`${name} must be a list of at most ${max} header or method names`, {
      option: name,
    });
  }
  return value as string[];
}

/** @internal The middleware's settings, validated. */
export interface HttpSettings {
  readonly header: string;
  readonly required: boolean;
  readonly methods: ReadonlySet<string>;
  readonly maxKeyLength: number;
  readonly storedHeaders: ReadonlySet<string>;
  readonly docsUrl: string;
  readonly scope: ((request: IdempotencyRequestFacts) => string | undefined) | undefined;
  readonly ttlMs: number;
}

function httpSettings(options: IdempotencyHttpOptions, keys: Idempotency): HttpSettings {
  const d = IDEMPOTENCY_HTTP_DEFAULTS;
  const header = options.header ?? d.header;
  if (typeof header !== 'string' || !TOKEN.test(header)) {
    throw new InvalidOptionsError('header must be a header name', { option: 'header' });
  }
  const required = options.required ?? d.required;
  if (typeof required !== 'boolean')
    throw new InvalidOptionsError('required must be a boolean', { option: 'required' });
  const methods = stringList('methods', options.methods ?? d.methods, 32, TOKEN).map((m) => m.toUpperCase());
  if (methods.length === 0) throw new InvalidOptionsError('methods must not be empty', { option: 'methods' });
  const maxKeyLength = options.maxKeyLength ?? d.maxKeyLength;
  if (!Number.isInteger(maxKeyLength) || maxKeyLength < 1 || maxKeyLength > 1024) {
    throw new InvalidOptionsError('maxKeyLength must be an integer in [1, 1024]', { option: 'maxKeyLength' });
  }
  const stored = stringList('storedHeaders', options.storedHeaders ?? d.storedHeaders, 64, TOKEN).map((h) =>
    h.toLowerCase(),
  );
  const refused = stored.find((h) => NEVER_STORED.has(h));
  if (refused !== undefined) {
    throw new InvalidOptionsError(`storedHeaders must not hold "${refused}": it is never replayed`, {
      option: 'storedHeaders',
    });
  }
  const docsUrl = options.docsUrl ?? IDEMPOTENCY_DRAFT_URL;
  if (
    typeof docsUrl !== 'string' ||
    docsUrl.length > 2048 ||
    !/^https?:\/\/[\x21-\x7e]+$/.test(docsUrl) ||
    /[<>"]/.test(docsUrl)
  ) {
    throw new InvalidOptionsError('docsUrl must be an absolute http(s) URL', { option: 'docsUrl' });
  }
  if (options.scope !== undefined && typeof options.scope !== 'function') {
    throw new InvalidOptionsError('scope must be a function of the request', { option: 'scope' });
  }
  const ttlMs = options.ttlMs === undefined ? keys.ttlMs : durationOption('ttlMs', options.ttlMs);
  return {
    header: header.toLowerCase(),
    required,
    methods: new Set(methods),
    maxKeyLength,
    storedHeaders: new Set(stored),
    docsUrl,
    scope: options.scope,
    ttlMs,
  };
}

/** The Idempotency and middleware options from what the middleware was given. */
function resolve(
  input: IdempotencyMiddlewareInput | undefined,
  options: IdempotencyHttpOptions | undefined,
): { keys: Idempotency; http: IdempotencyHttpOptions } {
  if (input instanceof Idempotency) {
    checkHttpOptions(options);
    return { keys: input, http: options ?? {} };
  }
  checkCombinedOptions(input);
  if (options !== undefined) {
    throw new InvalidOptionsError(
      'middleware options go in the second argument only after an Idempotency: idempotency(keys, { required: true })',
      { option: 'required' },
    );
  }
  const core: Record<string, unknown> = {};
  const http: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(input ?? {})) {
    if ((IDEMPOTENCY_HTTP_OPTION_KEYS as readonly string[]).includes(name)) http[name] = value;
    else core[name] = value;
  }
  return { keys: new Idempotency(core as IdempotencyOptions), http };
}

function subjectOf(auth: AuthContext | undefined): string | undefined {
  const sub = (auth as { claims?: { sub?: unknown } } | undefined)?.claims?.sub;
  if (typeof sub === 'string' && sub !== '') return sub;
  return typeof sub === 'number' && Number.isFinite(sub) ? String(sub) : undefined;
}

function problemAnswer(
  settings: HttpSettings,
  problem: Omit<IdempotencyProblem, 'type'>,
  extra: Record<string, string> = {},
): IdempotencyHttpDecision {
  const body: IdempotencyProblem = { type: settings.docsUrl, ...problem };
  return {
    action: 'respond',
    status: problem.status,
    headers: {
      'content-type': 'application/problem+json',
      link: `<${settings.docsUrl}>; rel="describedby"; type="text/html"`,
      ...extra,
    },
    body: Buffer.from(JSON.stringify(body)),
    replayed: false,
  };
}

/**
 * @internal Builds the framework-free core of the idempotency middleware:
 * request facts in, {@link IdempotencyHttpDecision} out. Store failures
 * (unreachable, or a foreign record: CorruptDataError) are thrown for the
 * framework's error handling: the request fails closed, it never runs
 * unprotected and never replays junk.
 */
export function idempotencyHttpHandler(
  input: IdempotencyMiddlewareInput | undefined,
  options?: IdempotencyHttpOptions,
): {
  keys: Idempotency;
  settings: HttpSettings;
  decide(request: IdempotencyHttpRequest): Promise<IdempotencyHttpDecision>;
} {
  const { keys, http } = resolve(input, options);
  const settings = httpSettings(http, keys);
  const decide = async (request: IdempotencyHttpRequest): Promise<IdempotencyHttpDecision> => {
    const method = typeof request.method === 'string' ? request.method.toUpperCase() : '';
    if (!settings.methods.has(method)) return PASS;
    const header = readKeyHeader(request.keyHeader, settings.maxKeyLength);
    if (header.kind === 'absent') return settings.required ? problemAnswer(settings, PROBLEMS.missing) : PASS;
    if (header.kind === 'invalid') {
      return problemAnswer(settings, {
        ...PROBLEMS.invalid,
        detail: PROBLEMS.invalid.detail
          .replace('{max}', String(settings.maxKeyLength))
          .replace('{why}', header.reason),
      });
    }
    const scope = settings.scope === undefined ? subjectOf(request.auth) : settings.scope(request);
    if (scope !== undefined && typeof scope !== 'string') {
      throw new InvalidArgumentError('the scope option must return a string or undefined', {
        argument: 'scope',
      });
    }
    const route = typeof request.route === 'string' ? request.route : '';
    const path = typeof request.path === 'string' ? request.path : '';
    const key = `http:${createHash('sha256')
      .update(JSON.stringify([scope ?? '', method, route, header.key]))
      .digest('base64url')}`;
    const fingerprint = fingerprintRequest(method, path, request.body);
    let begun: Awaited<ReturnType<Idempotency['begin']>>;
    try {
      begun = await keys.begin({ key, fingerprint, source: 'http' });
    } catch (err) {
      if (isScaleoutError(err, 'ERR_IDEMPOTENCY_MISMATCH')) return problemAnswer(settings, PROBLEMS.mismatch);
      if (isScaleoutError(err, 'ERR_IDEMPOTENCY_CONFLICT')) {
        const seconds = Math.max(
          1,
          Math.ceil(((err as { retryAfterMs?: number }).retryAfterMs ?? 1_000) / 1000),
        );
        return problemAnswer(settings, PROBLEMS.inProgress, { 'retry-after': String(seconds) });
      }
      throw err;
    }
    if (begun.kind === 'replay') return replay(keys, settings, key, begun.result);
    const { claim } = begun;
    return {
      action: 'run',
      capture: (res) =>
        captureResponse(res, keys.maxStoredBytes, (captured) =>
          keys.track(settle(claim, settings, captured)),
        ),
    };
  };
  return { keys, settings, decide };
}

function replay(
  keys: Idempotency,
  settings: HttpSettings,
  key: string,
  result: StoredResult,
): IdempotencyHttpDecision {
  const emit = keys.internals.emit;
  if (result.kind === 'none') {
    emit('conflict', { key, source: 'http', reason: 'not-kept' });
    return problemAnswer(settings, PROBLEMS.notKept);
  }
  if (result.kind !== 'http') {
    throw new CorruptDataError(`idempotency record "${key}" holds a function's result, not a response`, {
      key,
    });
  }
  emit('replayed', { key, source: 'http' });
  const headers: Record<string, string | string[]> = {};
  // Only what this route keeps today is replayed, whatever the record holds;
  // a header kept with several values (lines) is sent with each of them.
  for (const [name, value] of result.headers) {
    if (!settings.storedHeaders.has(name)) continue;
    const earlier = headers[name];
    headers[name] =
      earlier === undefined ? value : [...(Array.isArray(earlier) ? earlier : [earlier]), value];
  }
  headers['idempotency-replayed'] = 'true';
  return {
    action: 'respond',
    status: result.status,
    statusMessage: result.statusMessage,
    headers,
    body: result.body,
    replayed: true,
  };
}

/** Keeps the handler's response, or drops the claim when it is not one to keep. */
function settle(
  claim: IdempotencyClaim,
  settings: HttpSettings,
  captured: CapturedResponse,
): Promise<unknown> {
  const { status } = captured;
  if (!Number.isInteger(status) || status < 200 || status >= 500 || NOT_STORED_STATUS.has(status)) {
    return claim.release('not-stored');
  }
  if (captured.body === undefined) {
    return claim.complete({ kind: 'none', reason: 'too-large' }, settings.ttlMs);
  }
  // A Content-Encoding at the end means the bytes seen may be encoded (a
  // compression middleware below this one) or not (above it, streaming): a
  // body that cannot be replayed faithfully is not kept, and never run twice.
  const encoding = captured.headers.find(([name]) => name === 'content-encoding')?.[1];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
    return claim.complete({ kind: 'none', reason: 'encoded' }, settings.ttlMs);
  }
  // Every line of a kept header, or nothing: a replay missing a value (too
  // many lines, one too long to keep) would not be the response sent.
  const headers = captured.headers.filter(([name]) => settings.storedHeaders.has(name));
  const { statusMessage } = captured;
  if (
    headers.length > MAX_STORED_HEADERS ||
    !headers.every(([name, value]) => isStorableHeader(name, value)) ||
    (statusMessage !== undefined && !isStorableStatusMessage(statusMessage))
  ) {
    return claim.complete({ kind: 'none', reason: 'too-large' }, settings.ttlMs);
  }
  return claim.complete(
    { kind: 'http', status, statusMessage, headers, body: captured.body },
    settings.ttlMs,
  );
}
