import type {
  QueueAdapter,
  QueueAdapterConsumeOptions,
  QueueAdapterPublishOptions,
  QueueConnectionState,
  QueueDelivery,
  QueueOutgoingMessage,
} from '../../contracts/queue.js';
import { failuresFromHeader, QUEUE_HEADERS } from '../../contracts/queue.js';
import { ClosedError } from '../../errors.js';
import { bindToCurrentContext } from '../../internal/async-context.js';
import { optionsChecker } from '../../internal/validate.js';
import { checkAdapterConsume, checkAdapterPublish } from '../../queue/adapter-input.js';
import { ConnectionWatchers } from '../../queue/connection-state.js';
import type { Subscription } from '../../types.js';

interface StoredMessage {
  id: string;
  body: string;
  headers: Record<string, string>;
  publishedAt: number;
  /** Redeliveries after a consumer went away holding the message. */
  redeliveries: number;
}

interface MemoryConsumer {
  /** Bound to the async context of the `consume` call (not the publisher's). */
  onDelivery: (delivery: QueueDelivery) => void;
  prefetch: number;
  held: Map<number, StoredMessage>;
  deadLetterTopic: string | undefined;
  open: boolean;
}

interface GroupState {
  ready: StoredMessage[];
  consumers: MemoryConsumer[];
  next: number;
}

const DEFAULT_GROUP = 'default';

/**
 * Options of {@link MemoryQueueAdapter}: none so far (the message size cap
 * is `maxMessageBytes` of {@link MessageQueue}). Any key is refused.
 *
 * @example
 * ```ts
 * const adapter = memoryQueueAdapter({});
 * ```
 */
export type MemoryQueueAdapterOptions = Record<string, never>;

const checkOptions = optionsChecker({ where: 'memoryQueueAdapter options', keys: [] });

/**
 * In-process {@link QueueAdapter}: the embedded default of
 * {@link MessageQueue}, with the semantics of the broker adapters (groups,
 * prefetch, redelivery when a consumer goes away holding messages, dead
 * letters) but no durability: messages live as long as the adapter.
 *
 * @example
 * ```ts
 * const queue = new MessageQueue({ adapter: new MemoryQueueAdapter() });
 * ```
 */
export class MemoryQueueAdapter implements QueueAdapter {
  /** `messaging.system` of this back end: `scaleout_memory`. */
  readonly messagingSystem: string = 'scaleout_memory';
  readonly #topics = new Map<string, Map<string, GroupState>>();
  #tag = 0;
  #closed = false;
  readonly #watchers = new ConnectionWatchers(() => (this.#closed ? 'closed' : 'connected'));

  /** Takes no options: anything but `undefined` or `{}` is refused with `InvalidOptionsError`. */
  constructor(options?: MemoryQueueAdapterOptions) {
    checkOptions(options);
  }

  /** In process: `connected` until closed, then `closed`. */
  get connectionState(): QueueConnectionState {
    return this.#watchers.state;
  }

  /** Calls `listener` when the state changes (only on `close()` here). */
  watchConnection(listener: (state: QueueConnectionState) => void): Subscription {
    return this.#watchers.watch(listener);
  }

  /** Stores `message` for every group of `topic` (creating the `default` group). */
  async publish(
    topic: string,
    message: QueueOutgoingMessage,
    options?: QueueAdapterPublishOptions,
  ): Promise<void> {
    checkAdapterPublish(topic, message, options);
    if (this.#closed) throw new ClosedError('queue adapter is closed');
    this.#store(topic, message);
  }

  #groups(topic: string): Map<string, GroupState> {
    let groups = this.#topics.get(topic);
    if (groups === undefined) {
      groups = new Map([[DEFAULT_GROUP, { ready: [], consumers: [], next: 0 }]]);
      this.#topics.set(topic, groups);
    }
    return groups;
  }

  #store(topic: string, message: QueueOutgoingMessage): void {
    for (const [group, state] of this.#groups(topic)) {
      state.ready.push({
        id: message.id,
        body: message.body,
        headers: { ...message.headers },
        publishedAt: message.timestamp,
        redeliveries: 0,
      });
      this.#dispatch(topic, group, state);
    }
  }

  #dispatch(topic: string, group: string, state: GroupState): void {
    while (state.ready.length > 0) {
      const open = state.consumers.filter((c) => c.open && c.held.size < c.prefetch);
      if (open.length === 0) return;
      const consumer = open[state.next++ % open.length]!;
      const message = state.ready.shift()!;
      const tag = ++this.#tag;
      consumer.held.set(tag, message);
      const delivery = this.#delivery(topic, group, state, consumer, tag, message);
      queueMicrotask(() => consumer.onDelivery(delivery));
    }
  }

  #delivery(
    topic: string,
    group: string,
    state: GroupState,
    consumer: MemoryConsumer,
    tag: number,
    message: StoredMessage,
  ): QueueDelivery {
    // Validated: a forged or foreign value counts as 0 (see failuresFromHeader).
    const failures = failuresFromHeader(message.headers[QUEUE_HEADERS.failures]);
    const settle = (): boolean => {
      // A delivery of a consumer that went away was already requeued.
      if (!consumer.held.delete(tag)) return false;
      queueMicrotask(() => this.#dispatch(topic, group, state));
      return true;
    };
    return {
      id: message.id,
      topic,
      body: message.body,
      headers: message.headers,
      deliveryCount: failures + message.redeliveries + 1,
      publishedAt: message.publishedAt,
      ack: async () => {
        settle();
      },
      retry: async () => {
        if (!settle()) return;
        state.ready.push({
          ...message,
          headers: {
            ...message.headers,
            [QUEUE_HEADERS.failures]: String(failures + message.redeliveries + 1),
          },
          redeliveries: 0,
        });
      },
      deadLetter: async (headers) => {
        if (!settle()) return;
        if (consumer.deadLetterTopic === undefined || this.#closed) return;
        this.#store(consumer.deadLetterTopic, {
          id: message.id,
          body: message.body,
          headers: { ...message.headers, ...headers },
          persistent: true,
          timestamp: message.publishedAt,
        });
      },
    };
  }

  /** Delivers messages of `topic` for `options.group` to `onDelivery`. */
  async consume(
    topic: string,
    onDelivery: (delivery: QueueDelivery) => void,
    options: QueueAdapterConsumeOptions,
  ): Promise<Subscription> {
    checkAdapterConsume(topic, onDelivery, options);
    if (this.#closed) throw new ClosedError('queue adapter is closed');
    const groups = this.#groups(topic);
    let state = groups.get(options.group);
    if (state === undefined) {
      state = { ready: [], consumers: [], next: 0 };
      groups.set(options.group, state);
    }
    const consumer: MemoryConsumer = {
      onDelivery: bindToCurrentContext(onDelivery),
      prefetch: options.prefetch,
      held: new Map(),
      deadLetterTopic: options.deadLetterTopic,
      open: true,
    };
    state.consumers.push(consumer);
    const group = state;
    this.#dispatch(topic, options.group, group);
    return {
      unsubscribe: async () => {
        if (!consumer.open) return;
        consumer.open = false;
        group.consumers = group.consumers.filter((c) => c !== consumer);
        // Like a broker when a channel closes: unacknowledged messages go
        // back to the front, counted as one more delivery.
        const held = [...consumer.held.values()];
        consumer.held.clear();
        group.ready.unshift(...held.map((m) => ({ ...m, redeliveries: m.redeliveries + 1 })));
        this.#dispatch(topic, options.group, group);
      },
    };
  }

  /** Drops every message and consumer. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const groups of this.#topics.values()) {
      for (const state of groups.values()) {
        for (const c of state.consumers) c.open = false;
        state.consumers = [];
        state.ready = [];
      }
    }
    this.#topics.clear();
    this.#watchers.update();
  }

  /** Same as `close()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Creates an in-process {@link QueueAdapter} (see {@link MemoryQueueAdapter}).
 *
 * @example
 * ```ts
 * const queue = new MessageQueue({ adapter: memoryQueueAdapter() });
 * ```
 */
export function memoryQueueAdapter(options?: MemoryQueueAdapterOptions): MemoryQueueAdapter {
  return new MemoryQueueAdapter(options);
}
