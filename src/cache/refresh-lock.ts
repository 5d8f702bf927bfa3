import { randomBytes } from 'node:crypto';
import { CorruptDataError } from '../errors.js';
import type { CacheState } from './state.js';

const LOCK = 'l:';
/** What a refresh-lock token looks like (`randomBytes(12)` in base64url): anything else there is foreign. */
const LOCK_TOKEN = /^[A-Za-z0-9_-]{16}$/;

/**
 * The cross-instance refresh lock of one key: a short lease in the adapter
 * (`l:<key>`, set-if-absent with a random token and `lockTtlMs`) taken by
 * the instance that runs the key's loader, so that one loader runs per
 * cluster. Released by compare-and-delete (never another holder's lease);
 * a holder that dies leaves a lease that expires by itself.
 */
export class RefreshLock {
  readonly #state: CacheState;
  /** The cache key. */
  readonly key: string;
  /** The adapter key of the lock. */
  readonly lockKey: string;
  readonly #token = randomBytes(12).toString('base64url');

  constructor(state: CacheState, key: string) {
    this.#state = state;
    this.key = key;
    this.lockKey = LOCK + key;
  }

  /** One attempt to take the lock; rejects when the adapter fails. */
  acquire(): Promise<boolean> {
    const state = this.#state;
    return state.backend.call('lock', () =>
      state.adapter.setIfAbsent(this.lockKey, this.#token, { ttlMs: state.settings.lockTtlMs }),
    );
  }

  /** Releases the lock in the background (tracked; a failure is an `error` event). */
  release(): void {
    const state = this.#state;
    state.work.track(
      state.backend
        .call('unlock', () => state.adapter.deleteIfEquals(this.lockKey, this.#token))
        .catch((err) => state.backend.report('unlock', this.key, err, false)),
    );
  }

  /**
   * Whether the lock holds a record no instance wrote (a key of another
   * type, text that is not a lock token): reported as a data error. A
   * failed check answers false (wait as usual).
   */
  async isForeign(): Promise<boolean> {
    const state = this.#state;
    let text: string | undefined;
    try {
      text = await state.backend.call('lock', () => state.adapter.get(this.lockKey));
    } catch (err) {
      return state.backend.readAsMiss('lock', this.key, err);
    }
    if (text === undefined || LOCK_TOKEN.test(text)) return false;
    state.backend.report(
      'lock',
      this.key,
      new CorruptDataError(
        'the refresh lock of this key holds a record scaleout does not write; loading without it',
        {
          key: this.lockKey,
        },
      ),
      false,
    );
    return true;
  }
}

/** Takes the refresh lock for `key`; undefined when another holds it or the adapter fails. */
export async function tryRefreshLock(state: CacheState, key: string): Promise<RefreshLock | undefined> {
  const lock = new RefreshLock(state, key);
  try {
    if (!(await lock.acquire())) return undefined;
  } catch (err) {
    state.backend.report('lock', key, err, false);
    return undefined;
  }
  return lock;
}
