import { InvalidOptionsError } from '../errors.js';

/**
 * A tracer provider, as `@opentelemetry/api` defines it (only what
 * scaleout calls): a `BasicTracerProvider`/`NodeTracerProvider` of the SDK,
 * or `trace.getTracerProvider()`. Typed structurally so that scaleout's
 * types do not need the API package installed.
 *
 * @example
 * ```ts
 * const tracerProvider: TracerProviderLike = { getTracer: () => ({}) };
 * ```
 */
export interface TracerProviderLike {
  /** The tracer of an instrumentation scope (scaleout asks for `scaleout` and its version). */
  getTracer(name: string, version?: string, options?: { schemaUrl?: string }): unknown;
}

/**
 * A meter provider, as `@opentelemetry/api` defines it (only what scaleout
 * calls): a `MeterProvider` of `@opentelemetry/sdk-metrics`, or
 * `metrics.getMeterProvider()`.
 *
 * @example
 * ```ts
 * const meterProvider: MeterProviderLike = { getMeter: () => ({}) };
 * ```
 */
export interface MeterProviderLike {
  /** The meter of an instrumentation scope (scaleout asks for `scaleout` and its version). */
  getMeter(name: string, version?: string, options?: { schemaUrl?: string }): unknown;
}

/**
 * The OpenTelemetry options every instrumented primitive accepts. Without
 * them, scaleout uses the global providers (`trace.setGlobalTracerProvider`,
 * `metrics.setGlobalMeterProvider`) when `@opentelemetry/api` is installed,
 * and does nothing when it is not.
 *
 * @example
 * ```ts
 * const client = new ServiceClient({ baseUrl: 'http://127.0.0.1:4001' }, { tracerProvider: false });
 * ```
 */
export interface TelemetryOptions {
  /** Where spans go. `false`: no spans and no trace headers from this primitive. @default the global tracer provider */
  tracerProvider?: TracerProviderLike | false | undefined;
  /** Where metrics go. `false`: no metrics from this primitive. @default the global meter provider */
  meterProvider?: MeterProviderLike | false | undefined;
}

/** The option keys of {@link TelemetryOptions}, for the primitives' options checkers. */
export const TELEMETRY_OPTION_KEYS = ['tracerProvider', 'meterProvider'] as const;

/**
 * Spellings of other libraries that mean a telemetry option, for the
 * options checkers' suggestions.
 */
export const TELEMETRY_OPTION_HINTS: Readonly<Record<string, string>> = {
  tracer: 'tracerProvider',
  meter: 'meterProvider',
  telemetry: 'tracerProvider and meterProvider',
};

/**
 * Checks the telemetry options of `where`: each absent, `false`, or an
 * object with `getTracer()` / `getMeter()`.
 *
 * @internal
 */
export function checkTelemetryOptions(options: TelemetryOptions, where: string): void {
  const { tracerProvider, meterProvider } = options;
  if (tracerProvider !== undefined && tracerProvider !== false && !hasMethod(tracerProvider, 'getTracer')) {
    throw new InvalidOptionsError(
      `${where}: tracerProvider must be a TracerProvider (an object with getTracer()) or false`,
      { option: 'tracerProvider' },
    );
  }
  if (meterProvider !== undefined && meterProvider !== false && !hasMethod(meterProvider, 'getMeter')) {
    throw new InvalidOptionsError(
      `${where}: meterProvider must be a MeterProvider (an object with getMeter()) or false`,
      { option: 'meterProvider' },
    );
  }
}

function hasMethod(value: unknown, name: string): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Record<string, unknown>)[name] === 'function'
  );
}
