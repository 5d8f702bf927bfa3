import { withTimeout } from '../internal/abort.js';
import { unrefTimeout } from '../internal/timers.js';
import type { DistributedCacheEvents } from './events.js';
import type { L1Entry } from './l1-bus.js';
import type { Loader } from './options.js';
import { tryRefreshLock } from './refresh-lock.js';
import type { LoadOptions } from './settings.js';
import type { CacheState } from './state.js';
import { prepare } from './values.js';
import { write } from './write.js';

/** One run of a loader (see {@link runLoader}). */
export interface LoaderRun<T> {
  /** The cache key (namespace included). */
  key: string;
  loader: Loader<T>;
  options: LoadOptions;
  /** A stale value to serve when the loader fails or is slower than the soft timeout. */
  stale?: L1Entry | undefined;
  /** Store the value in the adapter and publish it (false: L1 only, as when the adapter is down). */
  writeRemote: boolean;
  /** Whether callers were served another value meanwhile (for the `refresh` event). */
  background: boolean;
  /** Whether it is an XFetch early refresh (for the `refresh` event). */
  early?: boolean;
  /** Runs when the run settles, stored or failed (releases the refresh lock). */
  onSettled?: (() => void) | undefined;
}

/** Emits `stale` (when listened to). */
export function emitStale(
  state: CacheState,
  key: string,
  reason: DistributedCacheEvents['stale']['reason'],
): void {
  if (state.events.has('stale')) state.events.emit('stale', { key, reason });
  state.telemetry?.stale(reason);
}

/**
 * Runs the loader under the hard timeout (its signal aborts, the run fails
 * with `TimeoutError`), stores its value and publishes. With a `stale`
 * value, a loader failure serves it (with an `error` event), and so does
 * a loader slower than the soft timeout (which keeps running and stores
 * its value when it comes).
 */
export function runLoader<T>(state: CacheState, run: LoaderRun<T>): Promise<T> {
  const { key, loader, options: o, stale, writeRemote, background, onSettled, early = false } = run;
  const controller = new AbortController();
  const started = state.clock.monotonic();
  const trace = state.telemetry?.start(background, early);
  let loaded: Promise<T>;
  try {
    const load = () => loader({ signal: controller.signal, key });
    loaded = Promise.resolve(trace === undefined ? load() : state.telemetry!.run(trace, load));
  } catch (err) {
    loaded = Promise.reject(err);
  }
  const hard = withTimeout(loaded, o.hardTimeoutMs, 'cache loader', (error) => controller.abort(error));
  const stored = hard.then(async (value) => {
    const delta = state.clock.monotonic() - started;
    if (writeRemote) await write(state, key, value, o.ttlMs, o.graceMs, delta);
    else {
      const now = state.clock.now();
      const { entry } = prepare(state, value, o.ttlMs, o.graceMs, delta, now);
      state.bus.store(key, entry, now);
    }
    if (state.events.has('refresh')) {
      state.events.emit('refresh', { key, durationMs: delta, background, early });
    }
    return value;
  });
  if (trace !== undefined) {
    const telemetry = state.telemetry!;
    stored.then(
      () => telemetry.end(trace),
      (err: unknown) => telemetry.end(trace, err),
    );
  }
  const settled = stored.finally(() => onSettled?.());
  settled.catch(() => {});
  state.work.track(settled);
  if (stale === undefined) return settled;
  // With a stale value: a loader failure or a soft timeout serves it.
  const fallback = settled.catch((err: unknown) => {
    state.backend.report('loader', key, err, false);
    emitStale(state, key, 'loader-error');
    return stale.value as T;
  });
  if (o.softTimeoutMs <= 0) return fallback;
  return new Promise<T>((resolve) => {
    const timer = unrefTimeout(() => {
      emitStale(state, key, 'soft-timeout');
      resolve(stale.value as T);
    }, o.softTimeoutMs);
    fallback.then((v) => {
      timer.cancel();
      resolve(v);
    });
  });
}

/** What {@link refreshInBackground} refreshes. */
export interface BackgroundRefresh<T> {
  key: string;
  loader: Loader<T>;
  options: LoadOptions;
  /** Whether it is an XFetch early refresh. */
  early: boolean;
  /** The adapter is down: load into L1 only, without the refresh lock. */
  localOnly?: boolean;
}

/**
 * Refreshes a key in the background: at most one refresh per key per
 * process, and (through the refresh lock) per cluster. Never throws.
 */
export function refreshInBackground<T>(state: CacheState, refresh: BackgroundRefresh<T>): void {
  const { key, loader, options, early, localOnly = false } = refresh;
  if (state.refreshing.has(key) || state.closed) return;
  state.refreshing.add(key);
  const run = async () => {
    if (localOnly) {
      await runLoader(state, { key, loader, options, writeRemote: false, background: true, early });
      return;
    }
    const lock = await tryRefreshLock(state, key);
    if (lock === undefined) return;
    await runLoader(state, {
      key,
      loader,
      options,
      writeRemote: true,
      background: true,
      early,
      onSettled: () => lock.release(),
    });
  };
  const done = run()
    .catch((err) => state.backend.report('refresh', key, err, false))
    .finally(() => state.refreshing.delete(key));
  state.work.track(done);
}
