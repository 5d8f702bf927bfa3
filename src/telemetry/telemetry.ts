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
import type { Meter, MeterProvider, Tracer } from '@opentelemetry/api';
import { type OtelApi, otelApi } from './otel-api.js';
import type { TelemetryOptions } from './telemetry-options.js';

/** The instrumentation scope of every span and metric scaleout makes. */
export const INSTRUMENTATION_SCOPE = 'scaleout';
/** The version of the instrumentation scope (scaleout's). */
export const INSTRUMENTATION_VERSION = '0.1.0';

/**
 * The tracer and the meter of one primitive.
 *
 * @internal
 */
export class Telemetry {
  readonly api: OtelApi;
  /** `undefined` when `tracerProvider: false`. */
  readonly tracer: Tracer | undefined;
  /** The meter provider given, `false` for none, `undefined` for the global one. */
  readonly #meterProvider: MeterProvider | false | undefined;

  private constructor(api: OtelApi, options: TelemetryOptions) {
    this.api = api;
    const tp = options.tracerProvider;
    this.tracer =
      tp === false
        ? undefined
        : ((tp ?? api.trace.getTracerProvider()).getTracer(
            INSTRUMENTATION_SCOPE,
            INSTRUMENTATION_VERSION,
          ) as Tracer);
    this.#meterProvider = options.meterProvider as MeterProvider | false | undefined;
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

/**
 * A set of instruments made from the current meter provider, made again
 * when that provider changes (an SDK registered after start-up).
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

  /** The instruments, or `undefined` with metrics turned off. */
  get(): T | undefined {
    const provider = this.#telemetry.meterProvider();
    if (provider === undefined) return undefined;
    if (provider !== this.#provider) {
      this.#provider = provider;
      this.#value = this.#build(provider.getMeter(INSTRUMENTATION_SCOPE, INSTRUMENTATION_VERSION));
    }
    return this.#value;
  }
}
