import type {
  SessionAdapter,
  SessionMoveResult,
  SessionRecord,
  SessionTouchOptions,
  SessionUpdateInput,
  SessionUpdateResult,
} from '../../contracts/session.js';
import { InvalidOptionsError } from '../../errors.js';
import { LruMap } from '../../internal/lru.js';
import { clockOption, optionsChecker } from '../../internal/validate.js';
import { checkAdapterInput, checkUpdateInput, touchTtl } from '../../session/session-record.js';
import { type Clock, systemClock } from '../../types.js';

/**
 * Options of {@link MemorySessionAdapter}.
 *
 * @example
 * ```ts
 * const adapter = memorySessionAdapter({ maxSessions: 10_000 } satisfies MemorySessionAdapterOptions);
 * ```
 */
export interface MemorySessionAdapterOptions {
  /** Most sessions kept; the least recently used are dropped beyond it. @default 100_000 */
  maxSessions?: number;
  /** Time source (tests pass a fake clock). @default systemClock */
  clock?: Clock;
}

const DEFAULTS = { maxSessions: 100_000 } as const;

const checkOptions = optionsChecker({
  where: 'memorySessionAdapter options',
  keys: ['maxSessions', 'clock'],
  hints: { max: 'maxSessions', maxEntries: 'maxSessions', size: 'maxSessions', now: 'clock' },
});

/**
 * Sessions in process memory: bounded (LRU by `maxSessions`), expiring lazily
 * (no timer per session). For one instance, development and tests: sessions
 * are lost on restart and not shared between processes.
 *
 * @example
 * ```ts
 * const sessions = new SessionStore({ adapter: new MemorySessionAdapter({ maxSessions: 10_000 }) });
 * ```
 */
export class MemorySessionAdapter implements SessionAdapter {
  readonly #sessions: LruMap<string, SessionRecord>;
  readonly #byUser = new Map<string, Set<string>>();
  readonly #clock: Clock;

  constructor(options: MemorySessionAdapterOptions = {}) {
    checkOptions(options);
    clockOption(options.clock);
    const maxSessions = options.maxSessions ?? DEFAULTS.maxSessions;
    if (!Number.isInteger(maxSessions) || maxSessions < 1) {
      throw new InvalidOptionsError('maxSessions must be an integer >= 1', { option: 'maxSessions' });
    }
    const clock = options.clock ?? systemClock;
    this.#clock = clock;
    this.#sessions = new LruMap<string, SessionRecord>({
      maxEntries: maxSessions,
      clock,
      onEvict: (id, record) => this.#unindex(id, record.userId),
    });
  }

  async create(input: {
    id: string;
    data: string;
    userId: string | undefined;
    ttlMs: number;
  }): Promise<boolean> {
    checkAdapterInput(input);
    if (this.#sessions.has(input.id)) return false;
    const record: SessionRecord = { data: input.data, version: 1, userId: input.userId, ttlMs: input.ttlMs };
    this.#sessions.set(input.id, record, input.ttlMs);
    if (input.userId !== undefined) this.#index(input.id, input.userId);
    return true;
  }

  #index(id: string, userId: string): void {
    let ids = this.#byUser.get(userId);
    if (ids === undefined) {
      ids = new Set();
      this.#byUser.set(userId, ids);
    }
    ids.add(id);
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    checkAdapterInput({ id });
    const found = this.#sessions.get(id);
    return found === undefined ? undefined : { ...found };
  }

  async touch(id: string, options?: SessionTouchOptions): Promise<SessionRecord | undefined> {
    const ttlMs = touchTtl(id, options);
    const stored = this.#sessions.get(id);
    if (stored === undefined) return undefined;
    const found = ttlMs === undefined ? stored : { ...stored, ttlMs };
    this.#sessions.set(id, found, found.ttlMs);
    return { ...found };
  }

  async update(input: SessionUpdateInput): Promise<SessionUpdateResult> {
    checkUpdateInput(input);
    const { ttlMs } = input;
    const found = this.#sessions.get(input.id);
    if (found === undefined) return { status: 'missing' };
    if (found.version !== input.expectedVersion) return { status: 'conflict', current: { ...found } };
    const next: SessionRecord = {
      ...found,
      data: input.data,
      version: found.version + 1,
      ttlMs: ttlMs ?? found.ttlMs,
    };
    this.#sessions.set(input.id, next, next.ttlMs);
    return { status: 'ok', record: { ...next } };
  }

  async move(input: { id: string; newId: string }): Promise<SessionMoveResult> {
    checkAdapterInput(input);
    // One synchronous step: nothing else runs in between.
    const found = this.#sessions.peek(input.id);
    if (found === undefined) return { status: 'missing' };
    if (this.#sessions.has(input.newId)) return { status: 'taken' };
    const remainingMs = Math.max(1, found.expiresAt - this.#clock.now());
    this.#sessions.delete(input.id);
    this.#unindex(input.id, found.value.userId);
    this.#sessions.set(input.newId, found.value, remainingMs);
    if (found.value.userId !== undefined) this.#index(input.newId, found.value.userId);
    return { status: 'ok', record: { ...found.value } };
  }

  async destroy(id: string): Promise<boolean> {
    checkAdapterInput({ id });
    const found = this.#sessions.peek(id);
    const existed = this.#sessions.delete(id);
    if (found !== undefined) this.#unindex(id, found.value.userId);
    return existed && found !== undefined;
  }

  async destroyAllForUser(userId: string): Promise<number> {
    checkAdapterInput({ userId: userId ?? '' });
    const ids = this.#byUser.get(userId);
    if (ids === undefined) return 0;
    this.#byUser.delete(userId);
    let count = 0;
    for (const id of ids) {
      const live = this.#sessions.peek(id) !== undefined;
      if (this.#sessions.delete(id) && live) count++;
    }
    return count;
  }

  async close(): Promise<void> {
    this.#sessions.clear();
    this.#byUser.clear();
  }

  #unindex(id: string, userId: string | undefined): void {
    if (userId === undefined) return;
    const ids = this.#byUser.get(userId);
    if (ids === undefined) return;
    ids.delete(id);
    if (ids.size === 0) this.#byUser.delete(userId);
  }
}

/**
 * Creates a {@link MemorySessionAdapter}.
 *
 * @example
 * ```ts
 * const sessions = new SessionStore({ adapter: memorySessionAdapter() });
 * ```
 */
export function memorySessionAdapter(options: MemorySessionAdapterOptions = {}): MemorySessionAdapter {
  return new MemorySessionAdapter(options);
}
