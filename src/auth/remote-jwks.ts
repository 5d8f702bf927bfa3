import { KeyObject, type webcrypto } from 'node:crypto';
import type { Attributes, Span } from '@opentelemetry/api';
import { InvalidOptionsError, JwksFetchError, JwksNoMatchingKeyError } from '../errors.js';
import { abortAfter, anySignal } from '../internal/abort.js';
import { captureContext } from '../internal/async-context.js';
import { redactUrl } from '../internal/redact.js';
import { SingleFlight } from '../internal/single-flight.js';
import { clockOption, durationOption, optionsChecker } from '../internal/validate.js';
import { OperationTelemetry } from '../telemetry/operation-telemetry.js';
import { HTTP } from '../telemetry/semconv.js';
import { spanUrl } from '../telemetry/span-url.js';
import {
  checkTelemetryOptions,
  TELEMETRY_OPTION_HINTS,
  TELEMETRY_OPTION_KEYS,
  type TelemetryOptions,
} from '../telemetry/telemetry-options.js';
import { type Clock, type Logger, systemClock } from '../types.js';
import { ALGORITHMS, type JwtAlgorithm, type KeyFamily, keyFamily } from './jwt-algorithms.js';

/**
 * Options of {@link RemoteJwks}.
 *
 * @example
 * ```ts
 * new RemoteJwks(url, { cooldownMs: 30_000, maxAgeMs: 600_000 } satisfies RemoteJwksOptions);
 * ```
 */
export interface RemoteJwksOptions extends TelemetryOptions {
  /**
   * Refetch no more often than this when an unknown `kid` arrives, ms. While
   * no key set was ever loaded, a failed load is retried no more often than
   * this or 5 s, whichever is shorter.
   * @default 30_000
   */
  cooldownMs?: number;
  /** Refresh the key set in the background once it is this old, ms. @default 600_000 */
  maxAgeMs?: number;
  /** Time limit of one fetch, ms. @default 5_000 */
  timeoutMs?: number;
  /** Largest JWKS document accepted, bytes (a larger one is refused as soon as it shows). @default 524_288 */
  maxBytes?: number;
  /** Time source of the cooldown and the key set's age (its `now()`). @default systemClock */
  clock?: Clock;
  /** Warned when a refresh fails while keys are held (they keep working). @default no logging */
  logger?: Logger;
}

interface JwksEntry {
  kid: string | undefined;
  alg: string | undefined;
  family: KeyFamily;
  key: KeyObject;
}

const MAX_KEYS = 100;

/**
 * While no key set was ever loaded, a failed load is remembered for this
 * long (or `cooldownMs`, when shorter): getKey throws the same error
 * without fetching again. Short, as every verify fails meanwhile.
 */
const FAILED_LOAD_COOLDOWN_MS = 5_000;

/** The defaults of {@link RemoteJwksOptions}. */
const DEFAULTS = {
  /** 30 seconds. */
  cooldownMs: 30_000,
  /** 10 minutes. */
  maxAgeMs: 600_000,
  /** 5 seconds. */
  timeoutMs: 5_000,
  /** 512 KiB. */
  maxBytes: 524_288,
  /** The system clock. */
  clock: systemClock,
} as const satisfies Required<Omit<RemoteJwksOptions, keyof TelemetryOptions | 'logger'>>;

const checkOptions = optionsChecker({
  where: 'RemoteJwks options',
  keys: ['cooldownMs', 'maxAgeMs', 'timeoutMs', 'maxBytes', 'clock', 'logger', ...TELEMETRY_OPTION_KEYS],
  // `now` (a function) was the time source before `clock`.
  hints: {
    ...TELEMETRY_OPTION_HINTS,
    now: 'clock',
    cooldown: 'cooldownMs',
    maxAge: 'maxAgeMs',
    timeout: 'timeoutMs',
  },
});

function inferAlg(jwk: Record<string, unknown>): string | undefined {
  if (typeof jwk.alg === 'string') return jwk.alg;
  if (jwk.kty === 'RSA') return 'RS256';
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  if (jwk.kty === 'EC') return { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' }[String(jwk.crv)];
  return undefined;
}

/**
 * A remote JSON Web Key Set, cached. Keys are imported once (with jose's
 * `importJWK`, loaded on first fetch) into node `KeyObject`s.
 *
 * - A token whose `kid` is unknown causes one refetch, however many requests
 *   carry it at once (single flight), and at most one per `cooldownMs`.
 * - Once the set is older than `maxAgeMs` it is refreshed in the background;
 *   if the endpoint fails, the keys already known keep working.
 * - While no set was ever loaded, a failed load is remembered for
 *   `min(cooldownMs, 5 s)`: calls in that time fail with the same
 *   {@link JwksFetchError} without a fetch, so a down endpoint is asked at
 *   most once per that time.
 * - With OpenTelemetry, each fetch is a CLIENT span `GET` (`url.full`
 *   without credentials or secret query values, the status, the number of
 *   keys); a key already held makes none.
 *
 * @example
 * ```ts
 * const jwks = new RemoteJwks('https://issuer.example/.well-known/jwks.json');
 * const key = await jwks.getKey('key-2024', 'RS256');
 * ```
 */
export class RemoteJwks {
  readonly #url: string;
  readonly #cooldownMs: number;
  readonly #maxAgeMs: number;
  readonly #timeoutMs: number;
  readonly #maxBytes: number;
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;
  readonly #flight = new SingleFlight<'fetch', void>();
  #entries: JwksEntry[] | undefined;
  #loadedAt = 0;
  #lastAttemptAt = Number.NEGATIVE_INFINITY;
  /** The failure of the last load while no key set was ever loaded, and when it started. */
  #failedLoad: { at: number; error: JwksFetchError } | undefined;
  #fetches = 0;
  #closed = new AbortController();
  /** The context it was made in: background refreshes run in it, not in a request's. */
  readonly #background = captureContext();
  /** The span of each fetch, when OpenTelemetry is there. */
  readonly #otel: OperationTelemetry | undefined;
  readonly #spanAttributes: Attributes;

  constructor(url: string | URL, options: RemoteJwksOptions = {}) {
    checkOptions(options);
    clockOption(options.clock);
    const d = DEFAULTS;
    this.#url = String(url);
    this.#cooldownMs = durationOption('cooldownMs', options.cooldownMs ?? d.cooldownMs, 0);
    this.#maxAgeMs = durationOption('maxAgeMs', options.maxAgeMs ?? d.maxAgeMs);
    this.#timeoutMs = durationOption('timeoutMs', options.timeoutMs ?? d.timeoutMs);
    this.#maxBytes = options.maxBytes ?? d.maxBytes;
    if (!Number.isInteger(this.#maxBytes) || this.#maxBytes < 1) {
      throw new InvalidOptionsError('maxBytes must be a positive integer', { option: 'maxBytes' });
    }
    this.#clock = options.clock ?? d.clock;
    const logger = options.logger as { warn?: unknown } | undefined | null;
    if (logger !== undefined && (typeof logger !== 'object' || logger === null)) {
      throw new InvalidOptionsError('logger must be an object with debug/info/warn/error methods', {
        option: 'logger',
      });
    }
    this.#logger = options.logger;
    checkTelemetryOptions(options, 'RemoteJwks options');
    this.#otel = OperationTelemetry.create(options);
    this.#spanAttributes = fetchAttributes(this.#url);
  }

  /** How many fetches were started (for diagnostics and tests). */
  get fetchCount(): number {
    return this.#fetches;
  }

  /**
   * The key for a token's `kid` and `alg`. Throws {@link JwksNoMatchingKeyError}
   * when none fits even after a refetch, {@link JwksFetchError} when no key
   * set could ever be loaded.
   */
  async getKey(kid: string | undefined, alg: JwtAlgorithm): Promise<KeyObject> {
    if (this.#entries === undefined) {
      const failed = this.#failedLoad;
      if (
        failed !== undefined &&
        !this.#flight.has('fetch') &&
        this.#clock.now() - failed.at < Math.min(this.#cooldownMs, FAILED_LOAD_COOLDOWN_MS)
      ) {
        throw failed.error;
      }
      await this.#refresh(true);
    } else if (this.#clock.now() - this.#loadedAt >= this.#maxAgeMs && this.#coolOff()) {
      // Stale: refresh in the background; the keys held keep working meanwhile.
      // It belongs to no request: it runs (and traces) in the context this
      // key set was made in, not in that of the request that noticed.
      this.#background(() => this.#refresh(false)).catch(() => {});
    }
    let found = this.#find(kid, alg);
    // Join a fetch already in flight (whoever started it), else start one if
    // the cooldown allows.
    if (found === undefined && (this.#flight.has('fetch') || this.#coolOff())) {
      await this.#refresh(false).catch(() => {});
      found = this.#find(kid, alg);
    }
    if (found === undefined) throw new JwksNoMatchingKeyError('no key of the JWKS matches the token');
    return found;
  }

  /**
   * The key for `kid` and `alg` when the key set is loaded, fresh (younger
   * than `maxAgeMs`) and holds exactly what {@link getKey} would return;
   * otherwise undefined (call {@link getKey}, which fetches as needed).
   * Never fetches.
   *
   * @example
   * ```ts
   * const key = jwks.peekKey('key-2024', 'RS256') ?? (await jwks.getKey('key-2024', 'RS256'));
   * ```
   */
  peekKey(kid: string | undefined, alg: JwtAlgorithm): KeyObject | undefined {
    if (this.#entries === undefined || this.#clock.now() - this.#loadedAt >= this.#maxAgeMs) return undefined;
    return this.#find(kid, alg);
  }

  /** Stops fetches in flight. */
  close(): void {
    this.#closed.abort();
  }

  #coolOff(): boolean {
    return this.#clock.now() - this.#lastAttemptAt >= this.#cooldownMs;
  }

  #find(kid: string | undefined, alg: JwtAlgorithm): KeyObject | undefined {
    const family = ALGORITHMS[alg].family;
    const fits = (this.#entries ?? []).filter(
      (e) =>
        e.family === family && (e.alg === undefined || e.alg === alg) && (kid === undefined || e.kid === kid),
    );
    // Without a kid, only an unambiguous key set is usable.
    return fits.length === 1 || (kid !== undefined && fits.length > 0) ? fits[0]!.key : undefined;
  }

  #refresh(mustSucceed: boolean): Promise<void> {
    return this.#flight.do('fetch', async () => {
      const startedAt = this.#clock.now();
      this.#lastAttemptAt = startedAt;
      this.#fetches++;
      try {
        this.#entries = await this.#tracedLoad();
        this.#loadedAt = this.#clock.now();
        this.#failedLoad = undefined;
      } catch (err) {
        if (mustSucceed || this.#entries === undefined) {
          const error =
            err instanceof JwksFetchError
              ? err
              : new JwksFetchError(`could not load the JWKS from ${redactUrl(this.#url)}`, { cause: err });
          if (this.#entries === undefined) this.#failedLoad = { at: startedAt, error };
          throw error;
        }
        // No caller sees this failure: the logger hears it (no URL: it may hold credentials).
        this.#logger?.warn?.('JWKS refresh failed; the keys held keep working', {
          error:
            (err as { code?: unknown } | null)?.code === undefined
              ? 'unknown'
              : String((err as { code: unknown }).code),
        });
      }
    });
  }

  #tracedLoad(): Promise<JwksEntry[]> {
    const otel = this.#otel;
    if (otel === undefined) return this.#load(undefined);
    return otel.trace(
      'GET',
      this.#spanAttributes,
      async (span) => {
        const entries = await this.#load(span);
        span?.setAttribute('scaleout.jwks.keys', entries.length);
        return entries;
      },
      otel.api.SpanKind.CLIENT,
    );
  }

  async #load(span: Span | undefined): Promise<JwksEntry[]> {
    const timeout = abortAfter(
      this.#timeoutMs,
      () => new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
      { unref: true },
    );
    const { signal, dispose } = anySignal(this.#closed.signal, timeout.controller.signal);
    try {
      return await this.#fetchKeys(signal!, span);
    } finally {
      timeout.cancel();
      dispose();
    }
  }

  async #fetchKeys(signal: AbortSignal, span: Span | undefined): Promise<JwksEntry[]> {
    const res = await fetch(this.#url, {
      signal,
      headers: { accept: 'application/json' },
      redirect: 'error',
    });
    span?.setAttribute(HTTP.status, res.status);
    if (!res.ok) {
      await res.body?.cancel();
      throw new JwksFetchError(`JWKS endpoint ${redactUrl(this.#url)} answered ${res.status}`);
    }
    const text = await readCapped(res, this.#maxBytes);
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw new JwksFetchError('JWKS document is not JSON');
    }
    const keys = (doc as { keys?: unknown })?.keys;
    if (!Array.isArray(keys)) throw new JwksFetchError('JWKS document has no "keys" array');
    const { importJWK } = await import('jose');
    const entries: JwksEntry[] = [];
    for (const jwk of keys.slice(0, MAX_KEYS)) {
      if (typeof jwk !== 'object' || jwk === null) continue;
      const record = jwk as Record<string, unknown>;
      if (record.use !== undefined && record.use !== 'sig') continue;
      if (record.kty === 'oct' || record.d !== undefined) continue; // never secrets or private keys
      const alg = inferAlg(record);
      if (alg === undefined || !Object.hasOwn(ALGORITHMS, alg)) continue;
      try {
        const imported: unknown = await importJWK(record as never, alg);
        const key =
          imported instanceof Uint8Array ? undefined : KeyObject.from(imported as webcrypto.CryptoKey);
        const family = key === undefined ? undefined : keyFamily(key);
        if (key === undefined || family === undefined || family !== ALGORITHMS[alg as JwtAlgorithm].family)
          continue;
        if (family === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) continue;
        entries.push({
          kid: typeof record.kid === 'string' ? record.kid : undefined,
          alg: typeof record.alg === 'string' ? record.alg : undefined,
          family,
          key,
        });
      } catch {
        // A key that does not import is skipped; the others stay usable.
      }
    }
    if (entries.length === 0) throw new JwksFetchError('JWKS document holds no usable signing key');
    return entries;
  }
}

/**
 * The body as text, refused (JwksFetchError) past `maxBytes` bytes: a
 * declared `content-length` over the cap is refused before any of the body
 * is read, and the body is read chunk by chunk and cancelled as soon as
 * the bytes received pass the cap, so an endless or huge document costs at
 * most about `maxBytes` of memory and reading.
 */
async function readCapped(res: Response, maxBytes: number): Promise<string> {
  const tooLarge = () => new JwksFetchError(`JWKS document is larger than ${maxBytes} bytes`);
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (res.body === null) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    received += value.byteLength;
    if (received > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  // As res.text() decodes: UTF-8, a byte order mark dropped, bad bytes replaced.
  return new TextDecoder().decode(Buffer.concat(chunks, received));
}

/** The attributes of a fetch span: the method, the URL without secrets, the server. */
function fetchAttributes(url: string): Attributes {
  const attributes: Attributes = { [HTTP.method]: 'GET', 'scaleout.operation': 'jwks refresh' };
  const full = spanUrl(undefined, url);
  if (full !== undefined) attributes[HTTP.urlFull] = full;
  try {
    const parsed = new URL(url);
    attributes[HTTP.serverAddress] = parsed.hostname.replace(/^\[|\]$/g, '');
    attributes[HTTP.serverPort] =
      parsed.port === '' ? (parsed.protocol === 'https:' ? 443 : 80) : Number(parsed.port);
  } catch {
    // A URL that does not parse fails the fetch; the span says so.
  }
  return attributes;
}
