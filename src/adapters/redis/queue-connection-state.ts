import type { QueueConnectionState } from '../../contracts/queue.js';
import { ConnectionWatchers } from '../../queue/connection-state.js';
import type { RedisClient } from './connection.js';

/** The ioredis events after which the client's `status` may have changed. */
const STATUS_EVENTS = ['connect', 'close', 'reconnecting', 'end', 'wait'] as const;

/**
 * @internal The connection state of the Redis Streams adapter, read from
 * its command client's `status` (no command sent):
 *
 * - `wait` (a lazy client nothing used yet): `idle`;
 * - `connecting`/`connect` before the first `ready`: `connecting`;
 * - `ready`: `connected`;
 * - `reconnecting`, `close`, `end`, or connecting again after a `ready`:
 *   `disconnected` (ioredis reconnects by itself; an ended client the
 *   user gave does not come back: still `disconnected`, never ready);
 * - the adapter closed: `closed`.
 *
 * @example
 * ```ts
 * const state = new RedisQueueConnectionState(client, () => closed);
 * state.watchers.watch((s) => log.info('redis queue connection', { state: s }));
 * ```
 */
export class RedisQueueConnectionState {
  readonly watchers: ConnectionWatchers;
  readonly #client: RedisClient;
  readonly #update = (): void => this.watchers.update();
  #wasReady: boolean;

  constructor(client: RedisClient, closed: () => boolean) {
    this.#client = client;
    this.#wasReady = client.status === 'ready';
    this.watchers = new ConnectionWatchers(() => {
      if (closed()) return 'closed';
      return stateOf(this.#client.status, this.#wasReady);
    });
    this.#client.on('ready', this.#onReady);
    for (const event of STATUS_EVENTS) this.#client.on(event, this.#update);
  }

  readonly #onReady = (): void => {
    this.#wasReady = true;
    this.watchers.update();
  };

  /** Stops listening to the client (it may be the user's) and tells the watchers `closed`. */
  detach(): void {
    this.#client.off('ready', this.#onReady);
    for (const event of STATUS_EVENTS) this.#client.off(event, this.#update);
    this.watchers.update();
  }
}

function stateOf(status: string, wasReady: boolean): QueueConnectionState {
  switch (status) {
    case 'ready':
      return 'connected';
    case 'wait':
      return 'idle';
    case 'connecting':
    case 'connect':
      return wasReady ? 'disconnected' : 'connecting';
    default:
      return 'disconnected';
  }
}
