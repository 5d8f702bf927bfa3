import type {
  IdempotencyClaimRequest,
  IdempotencyClaimResult,
  IdempotencyCompleteRequest,
  IdempotencyReleaseRequest,
  IdempotencyStore,
} from '../../contracts/idempotency.js';
import { ClosedError, InvalidOptionsError } from '../../errors.js';
import {
  checkClaimRequest,
  checkCompleteRequest,
  checkReleaseRequest,
} from '../../idempotency/store-requests.js';
import { optionsChecker } from '../../internal/validate.js';
import type { Clock } from '../../types.js';
import { systemClock } from '../../types.js';

/**
 * Options of {@link memoryIdempotencyStore}.
 *
 * @example
 * ```ts
 * const options: MemoryIdempotencyStoreOptions = { maxEntries: 50_000 };
 * ```
 */
export interface MemoryIdempotencyStoreOptions {
  /**
   * Most records kept. When a new key arrives and the store is full,
   * expired records go first, then the oldest record: a retry of a key
   * dropped this way runs again. Size it for the keys created within
   * `ttlMs`. @default 100_000
   */
  maxEntries?: number;
  /** Time source; its `monotonic()` decides expiry. @default systemClock */
  clock?: Clock;
}

/**
 * Defaults of {@link MemoryIdempotencyStoreOptions}.
 *
 * @example
 * ```ts
 * const store = memoryIdempotencyStore({ maxEntries: MEMORY_IDEMPOTENCY_STORE_DEFAULTS.maxEntries * 2 });
 * ```
 */
export const MEMORY_IDEMPOTENCY_STORE_DEFAULTS = Object.freeze({
  /** Most records kept. */
  maxEntries: 100_000,
});

const checkOptions = optionsChecker({
  where: 'memoryIdempotencyStore options',
  keys: ['maxEntries', 'clock'],
  hints: { max: 'maxEntries', maxSize: 'maxEntries', size: 'maxEntries', capacity: 'maxEntries' },
  bareNumber: 'maxEntries',
});

interface MemoryRecord {
  state: 'in-progress' | 'completed';
  owner: string;
  fingerprint: string;
  response: string | undefined;
  /** Monotonic ms. */
  expiresAt: number;
}

/**
 * Idempotency records inside one process: the default store, for tests,
 * single-instance services and examples. Same semantics as the Redis store
 * (leases, owners, expiry), none of the sharing: two processes with memory
 * stores each run a request once.
 *
 * @example
 * ```ts
 * const keys = new Idempotency({ adapter: new MemoryIdempotencyStore() });
 * ```
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly #clock: Clock;
  readonly #maxEntries: number;
  /** Insertion order is age order: the first entry is the oldest. */
  readonly #records = new Map<string, MemoryRecord>();
  #closed = false;

  constructor(options: MemoryIdempotencyStoreOptions = {}) {
    checkOptions(options);
    const maxEntries = options.maxEntries ?? MEMORY_IDEMPOTENCY_STORE_DEFAULTS.maxEntries;
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new InvalidOptionsError('maxEntries must be an integer >= 1', { option: 'maxEntries' });
    }
    const clock = options.clock ?? systemClock;
    if (typeof clock?.monotonic !== 'function') {
      throw new InvalidOptionsError('clock must have now() and monotonic()', { option: 'clock' });
    }
    this.#maxEntries = maxEntries;
    this.#clock = clock;
  }

  /** Records held right now (expired ones included until they are next touched). */
  get size(): number {
    return this.#records.size;
  }

  #checkOpen(): void {
    if (this.#closed) throw new ClosedError('idempotency store is closed');
  }

  /** The live record of `key`, dropping it when expired. */
  #live(key: string): MemoryRecord | undefined {
    const record = this.#records.get(key);
    if (record === undefined) return undefined;
    if (record.expiresAt <= this.#clock.monotonic()) {
      this.#records.delete(key);
      return undefined;
    }
    return record;
  }

  /** Stores `record` under `key` as the newest entry, making room first. */
  #put(key: string, record: MemoryRecord): void {
    this.#records.delete(key);
    if (this.#records.size >= this.#maxEntries) {
      const now = this.#clock.monotonic();
      for (const [k, r] of this.#records) if (r.expiresAt <= now) this.#records.delete(k);
      while (this.#records.size >= this.#maxEntries) {
        const oldest = this.#records.keys().next();
        if (oldest.done) break;
        this.#records.delete(oldest.value);
      }
    }
    this.#records.set(key, record);
  }

  async claim(request: IdempotencyClaimRequest): Promise<IdempotencyClaimResult> {
    this.#checkOpen();
    const { key, owner, fingerprint, leaseMs } = checkClaimRequest(request);
    const record = this.#live(key);
    if (record === undefined) {
      this.#put(key, {
        state: 'in-progress',
        owner,
        fingerprint,
        response: undefined,
        expiresAt: this.#clock.monotonic() + leaseMs,
      });
      return { status: 'claimed' };
    }
    if (record.state === 'completed') {
      return { status: 'completed', fingerprint: record.fingerprint, response: record.response ?? '' };
    }
    const retryAfterMs = Math.max(1, Math.ceil(record.expiresAt - this.#clock.monotonic()));
    return { status: 'busy', fingerprint: record.fingerprint, retryAfterMs };
  }

  async complete(request: IdempotencyCompleteRequest): Promise<boolean> {
    this.#checkOpen();
    const { key, owner, fingerprint, response, ttlMs } = checkCompleteRequest(request);
    const record = this.#live(key);
    if (record !== undefined && (record.state !== 'in-progress' || record.owner !== owner)) return false;
    this.#put(key, {
      state: 'completed',
      owner,
      fingerprint,
      response,
      expiresAt: this.#clock.monotonic() + ttlMs,
    });
    return true;
  }

  async release(request: IdempotencyReleaseRequest): Promise<boolean> {
    this.#checkOpen();
    const { key, owner } = checkReleaseRequest(request);
    const record = this.#live(key);
    if (record === undefined || record.state !== 'in-progress' || record.owner !== owner) return false;
    this.#records.delete(key);
    return true;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#records.clear();
  }
}

/**
 * Creates a {@link MemoryIdempotencyStore}.
 *
 * @example
 * ```ts
 * const keys = new Idempotency({ adapter: memoryIdempotencyStore({ maxEntries: 10_000 }) });
 * ```
 */
export function memoryIdempotencyStore(options: MemoryIdempotencyStoreOptions = {}): MemoryIdempotencyStore {
  return new MemoryIdempotencyStore(options);
}
