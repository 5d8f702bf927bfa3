import type { JwtDenylistAdapter } from '../../contracts/jwt-denylist.js';
import { InvalidArgumentError, InvalidOptionsError } from '../../errors.js';
import { LruMap } from '../../internal/lru.js';
import { optionsChecker } from '../../internal/validate.js';

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
  /** Time source, ms. @default Date.now */
  now?: () => number;
}

const DEFAULTS = { maxEntries: 100_000 } as const;

/** A token id (1 to 256 characters, as `verify` accepts) and an expiry in epoch ms. */
function checkEntry(jti: unknown, expiresAtMs: unknown): void {
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) {
    throw new InvalidArgumentError('jti must be a string of 1 to 256 characters', { argument: 'jti' });
  }
  if (typeof expiresAtMs !== 'number' || !Number.isFinite(expiresAtMs)) {
    throw new InvalidArgumentError('expiresAtMs must be a finite number', { argument: 'expiresAtMs' });
  }
}

const checkOptions = optionsChecker({
  where: 'memoryJwtDenylist options',
  keys: ['maxEntries', 'now'],
  hints: { max: 'maxEntries', maxSize: 'maxEntries', size: 'maxEntries', clock: 'now' },
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
  readonly #now: () => number;

  constructor(options: MemoryJwtDenylistOptions = {}) {
    checkOptions(options);
    if (options.now !== undefined && typeof options.now !== 'function') {
      throw new InvalidOptionsError('now must be a function returning ms', { option: 'now' });
    }
    const maxEntries = options.maxEntries ?? DEFAULTS.maxEntries;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new InvalidOptionsError('maxEntries must be an integer >= 1', { option: 'maxEntries' });
    }
    this.#now = options.now ?? Date.now;
    this.#ids = new LruMap({ maxEntries, now: this.#now });
  }

  async add(jti: string, expiresAtMs: number): Promise<void> {
    checkEntry(jti, expiresAtMs);
    const ttl = expiresAtMs - this.#now();
    if (ttl > 0) this.#ids.set(jti, true, ttl);
  }

  async has(jti: string): Promise<boolean> {
    checkEntry(jti, 0);
    return this.#ids.peek(jti) !== undefined;
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
