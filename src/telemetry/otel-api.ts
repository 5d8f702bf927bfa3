/**
 * The optional `@opentelemetry/api` peer, loaded once, synchronously, on
 * first use. scaleout never depends on it: when it is not installed (or
 * cannot be loaded), {@link otelApi} returns `undefined` and every
 * primitive runs without telemetry, exactly as before.
 *
 * The API keeps its registrations (tracer, meter and propagator providers,
 * context manager) on `globalThis` under a versioned symbol, so the copy
 * loaded here with `require` sees what the application registered through
 * its own `import` of the package.
 *
 * @module
 */
import { createRequire } from 'node:module';
import type * as OtelApiModule from '@opentelemetry/api';

/**
 * The `@opentelemetry/api` module.
 *
 * @internal
 */
export type OtelApi = typeof OtelApiModule;

/** `undefined`: not tried yet; `null`: absent. */
let loaded: OtelApi | null | undefined;

function load(): OtelApi | null {
  try {
    // A require of this file's location in both builds (the CommonJS build
    // turns `import.meta.url` into this file's URL): resolved as a peer.
    const api = createRequire(import.meta.url)('@opentelemetry/api') as OtelApi;
    return typeof api?.trace?.getTracer === 'function' ? api : null;
  } catch {
    return null;
  }
}

/**
 * The `@opentelemetry/api` module when it is installed, else `undefined`.
 * Resolved once per process.
 *
 * @internal
 */
export function otelApi(): OtelApi | undefined {
  if (loaded === undefined) loaded = load();
  return loaded ?? undefined;
}
