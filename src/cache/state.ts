import { randomBytes } from 'node:crypto';
import { memoryCacheAdapter } from '../adapters/memory/memory-cache-adapter.js';
import type { CacheAdapter } from '../contracts/cache.js';
import { InvalidOptionsError } from '../errors.js';
import { TypedEmitter } from '../internal/events.js';
import { Lifecycle } from '../internal/lifecycle.js';
import type { LruMap } from '../internal/lru.js';
import { SingleFlight } from '../internal/single-flight.js';
import { jsonSerializer } from '../serializer.js';
import type { Clock, Serializer } from '../types.js';
import { CacheBackend, checkAdapter } from './backend.js';
import { BackgroundWork } from './background.js';
import type { DistributedCacheEvents } from './events.js';
import { L1Bus, type L1Entry } from './l1-bus.js';
import { checkedClock, checkedLogger } from './option-checks.js';
import type { DistributedCacheOptions } from './options.js';
import { resolveSettings, type Settings } from './settings.js';
import { KeyWaiters } from './waiters.js';

/** How long `close()` waits for background work before it lets go. */
const CLOSE_GRACE_MS = 2_000;

/**
 * What a {@link DistributedCache} and its namespace views share: the
 * settings, the adapter behind its breaker ({@link CacheBackend}), the L1
 * tier and its bus ({@link L1Bus}), the in-process single flight and
 * refresh set of `getOrSet`, background work, and the one lifecycle. The
 * operations (read.ts, write.ts, remove.ts, counter.ts, get-or-set.ts)
 * work on it with full keys (namespace included, already validated).
 *
 * Closing: waiters are woken, background work gets up to 2 s, the bus
 * subscription ends, L1 is emptied, and the adapter is closed only when the
 * cache created it (no `adapter` option): an adapter you pass may be shared
 * with other caches and primitives, and stays open for them.
 */
export class CacheState {
  readonly settings: Settings;
  readonly adapter: CacheAdapter;
  /** Whether the cache created its adapter (and so closes it). */
  readonly ownsAdapter: boolean;
  readonly serializer: Serializer;
  readonly clock: Clock;
  readonly events: TypedEmitter<DistributedCacheEvents>;
  readonly id = randomBytes(8).toString('hex');
  readonly life = new Lifecycle('DistributedCache');
  readonly work = new BackgroundWork();
  readonly waiters = new KeyWaiters();
  readonly backend: CacheBackend;
  readonly bus: L1Bus;
  /** The L1 map (the bus's), `undefined` with `l1: false`. */
  readonly l1: LruMap<string, L1Entry> | undefined;
  /** In-process single flight of `getOrSet` per key. */
  readonly flights = new SingleFlight<string, unknown>();
  /** Keys this process is refreshing (foreground with a soft timeout, or background). */
  readonly refreshing = new Set<string>();
  readonly ready: Promise<void>;

  constructor(options: DistributedCacheOptions) {
    this.settings = resolveSettings(options);
    this.clock = checkedClock(options.clock);
    const clock = this.clock;
    this.ownsAdapter = options.adapter === undefined;
    this.adapter = options.adapter ?? memoryCacheAdapter({ clock });
    this.serializer = options.serializer ?? jsonSerializer;
    checkAdapter(this.adapter);
    if (
      typeof this.serializer?.serialize !== 'function' ||
      typeof this.serializer.deserialize !== 'function'
    ) {
      throw new InvalidOptionsError('serializer must have serialize() and deserialize()', {
        option: 'serializer',
      });
    }
    this.events = new TypedEmitter(checkedLogger(options.logger));
    this.backend = new CacheBackend({
      adapter: this.adapter,
      settings: this.settings,
      clock,
      events: this.events,
      life: this.life,
      onRecovered: () => this.bus.flush('backend-recovered'),
    });
    this.bus = new L1Bus({
      settings: this.settings,
      clock,
      backend: this.backend,
      events: this.events,
      waiters: this.waiters,
      work: this.work,
      life: this.life,
      id: this.id,
    });
    this.l1 = this.bus.map;
    this.ready = this.bus.subscribe();
    this.ready.catch(() => {});
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.life.closed;
  }

  /** Waits for background work (refreshes, publishes, lock releases) to settle. */
  settle(): Promise<void> {
    return this.work.settle();
  }

  /** Closes once; every caller gets the same promise. */
  close(): Promise<void> {
    return this.life.close(async () => {
      this.waiters.wakeAll();
      await Promise.race([this.settle(), new Promise((r) => setTimeout(r, CLOSE_GRACE_MS).unref())]);
      await this.bus.unsubscribe();
      this.l1?.clear();
      if (this.ownsAdapter) await this.adapter.close();
    });
  }
}
