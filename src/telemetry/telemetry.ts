/**
 * One primitive's handle on OpenTelemetry: its tracer and its meter, from
 * the providers it was given or the global ones.
 *
 * Cost model: a primitive asks {@link Telemetry.create} once, at
 * construction. `undefined` (the API is not installed, or both providers
 * are `false`) means the hot paths test one field and do nothing else.
 * With the API and no SDK registered, the global tracer is the API's proxy:
 * spans are non-recording and cheap, and scaleout computes an attribute
 * that costs anything (a redacted URL) only for a recording span.
 *
 * @module
 */
import type { Meter, MeterProvider, Tracer, TracerProvider } from '@opentelemetry/api';
import { type OtelApi, otelApi } from './otel-api.js';
import type { TelemetryOptions } from './telemetry-options.js';

/** The instrumentation scope of every span and metric scaleout makes. */
export const INSTRUMENTATION_SCOPE = 'scaleout';
/** The version of the instrumentation scope (scaleout's). */
export const INSTRUMENTATION_VERSION = '0.1.0';

/**
 * The tracer and the meter of one primitive.
 *
 * The global providers are read per operation (a global read and an
 * identity test): an SDK registered after the primitive was built is
 * picked up, and the application's copy of the API (its `import`) may
 * differ from the one loaded here (`require`), each with its own proxy.
 * With no provider registered, {@link tracer} and {@link Instruments.get}
 * answer `undefined`: no span, no trace header, no measurement.
 *
 * @internal
 */
export class Telemetry {
  readonly api: OtelApi;
  /** The tracer of the provider given; `null` with `tracerProvider: false`; `undefined`: the global one. */
  readonly #givenTracer: Tracer | null | undefined;
  /** The meter provider given, `false` for none, `undefined` for the global one. */
  readonly #meterProvider: MeterProvider | false | undefined;
  /** The provider behind the global proxy last seen, and its tracer (`undefined`: a no-op one). */
  #globalProvider: unknown;
  #globalTracer: Tracer | undefined;
  /** The API's no-op tracer provider (what the proxy answers with no SDK). */
  readonly #noopProvider: unknown;
  /** True when both signals use the global providers (then {@link idle} can answer from one read). */
  readonly #globalOnly: boolean;
  /** Where the API keeps what the application registered (`Symbol.for('opentelemetry.js.api.<major>')`). */
  readonly #globalKey: symbol;

  private constructor(api: OtelApi, options: TelemetryOptions) {
    this.api = api;
    const tp = options.tracerProvider;
    this.#givenTracer =
      tp === false
        ? null
        : tp === undefined
          ? undefined
          : (tp.getTracer(INSTRUMENTATION_SCOPE, INSTRUMENTATION_VERSION) as Tracer);
    this.#meterProvider = options.meterProvider as MeterProvider | false | undefined;
    this.#noopProvider = new api.ProxyTracerProvider().getDelegate();
    this.#globalOnly = tp === undefined && options.meterProvider === undefined;
    // The key of API major version 1 (the peer range is 1.x).
    this.#globalKey = Symbol.for('opentelemetry.js.api.1');
  }

  /**
   * True when nothing can be recorded: the primitive uses the global
   * providers and the application registered nothing at all with the API
   * (no tracer, meter or propagator provider, no context manager). One
   * property read: the hot paths ask this first.
   */
  idle(): boolean {
    return this.#globalOnly && (globalThis as Record<symbol, unknown>)[this.#globalKey] === undefined;
  }

  /**
   * The telemetry of a primitive built with `options`, or `undefined` when
   * there is nothing to do (no API installed, or every signal turned off).
   */
  static create(options: TelemetryOptions): Telemetry | undefined {
    if (options.tracerProvider === false && options.meterProvider === false) return undefined;
    const api = otelApi();
    return api === undefined ? undefined : new Telemetry(api, options);
  }

  /** The tracer to use now, or `undefined` when no tracer provider is registered (or tracing is off). */
  tracer(): Tracer | undefined {
    const given = this.#givenTracer;
    if (given !== undefined) return given ?? undefined;
    const proxy = this.api.trace.getTracerProvider() as TracerProvider & { getDelegate?: () => unknown };
    const provider = typeof proxy.getDelegate === 'function' ? proxy.getDelegate() : proxy;
    if (provider !== this.#globalProvider) {
      this.#globalProvider = provider;
      this.#globalTracer =
        provider === this.#noopProvider || isNoop(provider)
          ? undefined
          : ((provider as TracerProvider).getTracer(
              INSTRUMENTATION_SCOPE,
              INSTRUMENTATION_VERSION,
            ) as Tracer);
    }
    return this.#globalTracer;
  }

  /**
   * The meter provider now: the one given, else the global one (read each
   * time: the global provider may be registered after the primitive was
   * built, and the API's global meter provider is no proxy).
   */
  meterProvider(): MeterProvider | undefined {
    const given = this.#meterProvider;
    if (given === false) return undefined;
    return given ?? this.api.metrics.getMeterProvider();
  }
}

/** A no-op provider or meter of another copy of the API. */
function isNoop(value: unknown): boolean {
  const name = (value as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  return typeof name === 'string' && name.startsWith('Noop');
}

/**
 * A set of instruments made from the current meter provider, made again
 * when that provider changes (an SDK registered after start-up); none for
 * a no-op provider.
 *
 * @internal
 */
export class Instruments<T> {
  readonly #telemetry: Telemetry;
  readonly #build: (meter: Meter) => T;
  #provider: MeterProvider | undefined;
  #value: T | undefined;

  constructor(telemetry: Telemetry, build: (meter: Meter) => T) {
    this.#telemetry = telemetry;
    this.#build = build;
  }

  /** The instruments, or `undefined` with metrics off or no meter provider registered. */
  get(): T | undefined {
    const provider = this.#telemetry.meterProvider();
    if (provider === undefined) return undefined;
    if (provider !== this.#provider) {
      this.#provider = provider;
      const meter = provider.getMeter(INSTRUMENTATION_SCOPE, INSTRUMENTATION_VERSION);
      this.#value = isNoop(meter) || isNoop(provider) ? undefined : this.#build(meter);
    }
    return this.#value;
  }
}
