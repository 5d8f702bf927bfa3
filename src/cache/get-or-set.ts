/**
 * `getOrSet(key, loader)`: the state machine.
 *
 * One call moves through these states. Each names what guards it and why
 * it exists; the arrows are the only ways out.
 *
 * - **L1 fresh**: L1 holds the key and it is not past its TTL (`soft`).
 *   Answer it at once, no await (the hot path). XFetch may also start an
 *   early refresh (below). → done.
 *
 * - **Single flight**: not fresh in L1. Concurrent calls for the key in
 *   this process join one resolution (`state.flights`), so N callers cost
 *   one adapter read and at most one loader. → resolve.
 *
 * - **Resolve** (one adapter read of `v:<key>`):
 *   - the adapter is down (outage, timeout, circuit open) and `failOpen`:
 *     → *backend down*. With `failOpen: false` the error reaches the caller.
 *   - a foreign record (a data error): reported, read as a miss → *cold*.
 *   - fresh in the adapter: answer it (an `l2` hit; XFetch may refresh
 *     early). → done.
 *   - past its TTL but within grace (`hard`), in the adapter or in L1:
 *     → *stale*.
 *   - nothing usable: → *cold*.
 *
 * - **Backend down**: the adapter cannot answer, so nothing cluster-wide
 *   can be coordinated. Serve L1's value while within grace (`stale`,
 *   reason `backend-down`) and refresh it locally in the background; else
 *   run the loader here and keep its value in L1 only. No lock, no write:
 *   the circuit keeps the dead adapter from being hammered meanwhile.
 *
 * - **Stale** (a value within grace is at hand): someone must refresh it,
 *   but nobody needs to wait for that.
 *   - `softTimeoutMs > 0`, no refresh of the key running in this process,
 *     and this caller takes the refresh lock: → *foreground refresh*.
 *   - otherwise: answer the stale value at once (reason `grace`) and start
 *     a background refresh (one per key per process through
 *     `state.refreshing`, one per cluster through the refresh lock). → done.
 *
 * - **Foreground refresh**: this caller runs the loader and waits at most
 *   `softTimeoutMs` for it; past that it gets the stale value (reason
 *   `soft-timeout`) while the loader keeps running and stores its value.
 *   A failing loader also serves the stale value (reason `loader-error`).
 *   The refresh lock is released when the loader settles. → done.
 *
 * - **Cold** (no usable value anywhere): load once per cluster.
 *   - take the refresh lock (set-if-absent with `lockTtlMs`):
 *     - taken: read the adapter again (another instance may have stored the
 *       value between our read and the lock); fresh → answer; else run the
 *       loader, store, publish, release. → done.
 *     - the adapter failed: fail open → run the loader locally (L1 only);
 *       a foreign record at the lock → run the loader and store its value.
 *     - refused (another instance is loading): → *waiting*.
 *
 * - **Waiting**: register a wake-up for the key, then read the adapter
 *   (register first: a publish between the two is not missed). Found →
 *   answer. Else sleep until the bus announces the key (the holder stored
 *   it) or the poll delay ends (`waitPollMinMs`, doubling up to
 *   `waitPollMaxMs`: a lost message costs a poll, not a hang), and read
 *   again. Still nothing: past the deadline (`lockTtlMs + hardTimeoutMs`:
 *   the holder died, or its loader is slower than allowed) → run the loader
 *   here; else → *cold* again (contend for the lock). On the second
 *   refusal the lock's record is checked once: a record no instance wrote
 *   would hold every cold load until the deadline, so the loader runs
 *   without the lock (with an `error` event). A read that fails while
 *   waiting fails open (the loader runs locally); a closed cache ends the
 *   wait with `ClosedError`.
 *
 * - **XFetch early refresh** (from *L1 fresh* and *resolve*): a hot key is
 *   refreshed before its TTL ends with a probability that grows as expiry
 *   nears, scaled by how long its loader took (`delta`) and
 *   `earlyRefreshBeta`: `now - delta * beta * ln(random()) >= soft`. The
 *   caller is answered at once; the refresh runs in the background under
 *   the same per-process and per-cluster guards, so no expiry ever sends a
 *   stampede to the loader.
 *
 * Timeouts: every adapter call has `operationTimeoutMs` (a timeout is an
 * outage for the circuit); every loader has `hardTimeoutMs` (its signal
 * aborts, the call fails with `TimeoutError` unless a stale value covers
 * it). Loader runs live in loader-runner.ts, the lock in refresh-lock.ts,
 * wake-ups in waiters.ts.
 */
import type { L1Entry } from './l1-bus.js';
import { emitStale, refreshInBackground, runLoader } from './loader-runner.js';
import type { Loader } from './options.js';
import { RefreshLock, tryRefreshLock } from './refresh-lock.js';
import type { LoadOptions } from './settings.js';
import type { CacheState } from './state.js';
import { dataKey, read } from './values.js';

/** XFetch: whether a fresh `entry` should be refreshed now, before its TTL ends. */
export function shouldRefreshEarly(entry: L1Entry, now: number, beta: number): boolean {
  if (beta <= 0 || entry.delta <= 0 || entry.soft === Number.POSITIVE_INFINITY) return false;
  return now - entry.delta * beta * Math.log(Math.random()) >= entry.soft;
}

/** The value under `key` (full key), or the loader's, per the state machine above. */
export function getOrSet<T>(state: CacheState, key: string, loader: Loader<T>, o: LoadOptions): Promise<T> {
  const l1 = state.l1;
  if (l1 !== undefined) {
    const entry = l1.get(key);
    if (entry !== undefined) {
      const now = state.clock.now();
      if (entry.soft > now) {
        if (state.events.has('hit')) state.events.emit('hit', { key, tier: 'l1' });
        state.telemetry?.hit('l1');
        if (o.beta > 0 && shouldRefreshEarly(entry, now, o.beta)) {
          refreshInBackground(state, { key, loader, options: o, early: true });
        }
        return Promise.resolve(entry.value as T);
      }
    }
  }
  return state.flights.do(key, () => resolve(state, key, loader, o)) as Promise<T>;
}

async function resolve<T>(state: CacheState, key: string, loader: Loader<T>, o: LoadOptions): Promise<T> {
  const backend = state.backend;
  let stale: L1Entry | undefined;
  const local = state.l1?.peek(key)?.value;
  const now0 = state.clock.now();
  if (local !== undefined && local.hard > now0) stale = local;
  let text: string | undefined;
  try {
    text = await backend.call('get', () => state.adapter.get(dataKey(key)));
  } catch (err) {
    if (backend.readAsMiss('get', key, err)) return loadWithLock(state, key, loader, o);
    backend.failOpen('get', key, err, false);
    // Fail-open: the adapter is down; answer from L1 or the loader, in this process only.
    if (stale !== undefined) {
      emitStale(state, key, 'backend-down');
      if (!state.refreshing.has(key)) {
        refreshInBackground(state, { key, loader, options: o, early: false, localOnly: true });
      }
      return stale.value as T;
    }
    return runLoader(state, { key, loader, options: o, writeRemote: false, background: false });
  }
  const now = state.clock.now();
  if (text !== undefined) {
    const entry = read(state, key, text, now, o.graceMs);
    if (entry !== undefined) {
      if (entry.soft > now) {
        if (state.events.has('hit')) state.events.emit('hit', { key, tier: 'l2' });
        state.telemetry?.hit('l2');
        if (o.beta > 0 && shouldRefreshEarly(entry, now, o.beta)) {
          refreshInBackground(state, { key, loader, options: o, early: true });
        }
        return entry.value as T;
      }
      stale = entry;
    }
  }
  if (state.events.has('miss')) state.events.emit('miss', { key });
  state.telemetry?.miss();
  if (stale !== undefined && stale.hard > now) {
    if (o.softTimeoutMs > 0 && !state.refreshing.has(key)) {
      // This caller refreshes in the foreground, waiting up to the soft timeout.
      const lock = await tryRefreshLock(state, key);
      if (lock !== undefined) {
        state.refreshing.add(key);
        return runLoader(state, {
          key,
          loader,
          options: o,
          stale,
          writeRemote: true,
          background: false,
          onSettled: () => {
            lock.release();
            state.refreshing.delete(key);
          },
        });
      }
    }
    emitStale(state, key, 'grace');
    refreshInBackground(state, { key, loader, options: o, early: false });
    return stale.value as T;
  }
  return loadWithLock(state, key, loader, o);
}

/** Cold miss: one loader per cluster, others wait for its value. */
async function loadWithLock<T>(
  state: CacheState,
  key: string,
  loader: Loader<T>,
  o: LoadOptions,
): Promise<T> {
  const backend = state.backend;
  const s = state.settings;
  const lock = new RefreshLock(state, key);
  const here = (writeRemote: boolean, onSettled?: () => void) =>
    runLoader(state, { key, loader, options: o, writeRemote, background: false, onSettled });
  const deadline = state.clock.now() + s.lockTtlMs + o.hardTimeoutMs;
  let delay = s.waitPollMinMs;
  let refusals = 0;
  for (;;) {
    let acquired: boolean;
    try {
      acquired = await lock.acquire();
    } catch (err) {
      if (backend.readAsMiss('lock', key, err)) return here(true);
      backend.failOpen('lock', key, err, false);
      return here(false);
    }
    if (acquired) {
      const release = () => lock.release();
      // The value may have landed between our read and the lock.
      let text: string | undefined;
      try {
        text = await backend.call('get', () => state.adapter.get(dataKey(key)));
      } catch {
        text = undefined;
      }
      if (text !== undefined) {
        const now = state.clock.now();
        const entry = read(state, key, text, now, o.graceMs);
        if (entry !== undefined && entry.soft > now) {
          release();
          return entry.value as T;
        }
      }
      return here(true, release);
    }
    refusals++;
    if (refusals === 2) {
      // Refused again after a wait that no publish ended: check that the
      // lock is one an instance wrote. A foreign record there would hold
      // every cold load of this key until the wait deadline: load without
      // the lock instead. (A loader that finishes within the first wait
      // never costs this read.)
      if (await lock.isForeign()) return here(true);
    }
    // Another instance holds the lock: wait for its publish, or poll.
    // Register first, then re-read, so that a publish in between is not missed.
    const woken = state.waiters.wait(key, delay);
    let found: L1Entry | undefined;
    try {
      found = await readFresh(state, key, o);
    } catch (err) {
      woken.cancel();
      backend.failOpen('get', key, err, false);
      return here(false);
    }
    if (found !== undefined) {
      woken.cancel();
      return found.value as T;
    }
    await woken.promise;
    if (state.closed) throw state.life.closedError();
    // Woken (or polled): read before contending for the lock again.
    try {
      found = await readFresh(state, key, o);
    } catch (err) {
      backend.failOpen('get', key, err, false);
      return here(false);
    }
    if (found !== undefined) return found.value as T;
    if (state.clock.now() > deadline) {
      // The holder neither finished nor let its lease expire in time: load here.
      return here(true);
    }
    delay = Math.min(delay * 2, s.waitPollMaxMs);
  }
}

/** Reads a fresh value from the adapter (into L1); undefined when absent, stale or foreign. Throws on adapter failure. */
async function readFresh(state: CacheState, key: string, o: LoadOptions): Promise<L1Entry | undefined> {
  let text: string | undefined;
  try {
    text = await state.backend.call('get', () => state.adapter.get(dataKey(key)));
  } catch (err) {
    if (state.backend.readAsMiss('get', key, err)) return undefined;
    throw err;
  }
  if (text === undefined) return undefined;
  const now = state.clock.now();
  const entry = read(state, key, text, now, o.graceMs);
  if (entry === undefined || entry.soft <= now) return undefined;
  if (state.events.has('hit')) state.events.emit('hit', { key, tier: 'l2' });
  state.telemetry?.hit('l2');
  return entry;
}
