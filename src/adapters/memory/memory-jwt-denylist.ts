import type { JwtDenylistAdapter } from '../../contracts/jwt-denylist.js';
import { InvalidArgumentError, InvalidOptionsError } from '../../errors.js';
import { Lifecycle } from '../../internal/lifecycle.js';
import { LruMap } from '../../internal/lru.js';
import { clockOption, isWellFormed, optionsChecker } from '../../internal/validate.js';
import { type Clock, systemClock } from '../../types.js';

/**
 * Options of {@link MemoryJwtDenylist}.
 *
 * @example
 * ```ts
 * const denylist = memoryJwtDenylist({ maxEntries: 50_000 } satisfies MemoryJwtDenylistOptions);
 * ```
 */
export interface MemoryJwtDenylistOptions {
  /** Most revoked ids kept (the oldest are forgotten first). @default 100_000 */
  maxEntries?: number;
  /** Time source: a revoked id is forgotten once its `expiresAtMs` has passed on `clock.now()`. @default systemClock */
  clock?: Clock;
}

const DEFAULTS = { maxEntries: 100_000, clock: systemClock } as const;

/**
 * A token id (1 to 256 characters, well-formed Unicode, as `verify`
 * accepts) and an expiry in epoch ms.
 */
function checkEntry(jti: unknown, expiresAtMs: unknown): void {
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256 || !isWellFormed(jti)) {
    throw new InvalidArgumentError('jti must be a string of 1 to 256 characters, no lone surrogate', {
      argument: 'jti',
    });
  }
  if (typeof expiresAtMs !== 'number' || !Number.isFinite(expiresAtMs)) {
    throw new InvalidArgumentError('expiresAtMs must be a finite number', { argument: 'expiresAtMs' });
  }
}

const checkOptions = optionsChecker({
  where: 'memoryJwtDenylist options',
  keys: ['maxEntries', 'clock'],
  // `now` (a function) was the time source before `clock`.
  hints: { max: 'maxEntries', maxSize: 'maxEntries', size: 'maxEntries', now: 'clock' },
});

/**
 * Revoked token ids in process memory, each forgotten when its token would
 * have expired. One process only: use `redisJwtDenylist` when several
 * instances verify tokens.
 *
 * @example
 * ```ts
 * const jwt = createJwt({ secret, denylist: new MemoryJwtDenylist() });
 * ```
 */
export class MemoryJwtDenylist implements JwtDenylistAdapter {
  readonly #ids: LruMap<string, true>;
  readonly #clock: Clock;
  readonly #life = new Lifecycle('memory JWT denylist');

  constructor(options: MemoryJwtDenylistOptions = {}) {
    checkOptions(options);
    clockOption(options.clock);
    const maxEntries = options.maxEntries ?? DEFAULTS.maxEntries;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new InvalidOptionsError('maxEntries must be an integer >= 1', { option: 'maxEntries' });
    }
    this.#clock = options.clock ?? DEFAULTS.clock;
    this.#ids = new LruMap({ maxEntries, clock: this.#clock });
  }

  async add(jti: string, expiresAtMs: number): Promise<void> {
    this.#life.assertOpen();
    checkEntry(jti, expiresAtMs);
    const ttl = expiresAtMs - this.#clock.now();
    if (ttl > 0) this.#ids.set(jti, true, ttl);
  }

  async has(jti: string): Promise<boolean> {
    this.#life.assertOpen();
    checkEntry(jti, 0);
    return this.#ids.peek(jti) !== undefined;
  }

  /**
   * Forgets every id; later calls fail with `ClosedError`. Safe to call
   * more than once.
   *
   * @example
   * ```ts
   * await denylist.close();
   * ```
   */
  close(): Promise<void> {
    return this.#life.close(() => this.#ids.clear());
  }

  /** Same as {@link close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Creates a {@link MemoryJwtDenylist}.
 *
 * @example
 * ```ts
 * const jwt = createJwt({ secret, denylist: memoryJwtDenylist() });
 * ```
 */
export function memoryJwtDenylist(options: MemoryJwtDenylistOptions = {}): MemoryJwtDenylist {
  return new MemoryJwtDenylist(options);
}
