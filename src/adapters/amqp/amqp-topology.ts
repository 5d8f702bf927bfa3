import type { Channel, ChannelModel } from 'amqplib';
import type { Logger } from '../../types.js';
import { declareQueue } from './amqp-queue-declaration.js';
import { type QueueType, queueOptions, typeMismatchHint } from './amqp-queue-type.js';

/**
 * @internal The names and declarations of the RabbitMQ adapter's topology:
 * topics route through the direct exchange `<prefix>scaleout.topics`; the
 * queue of group `default` is `<prefix><topic>`, of group `g`
 * `<prefix><topic>/g`; every queue dead-letters to the direct exchange
 * `<prefix>scaleout.dead-letter`, to which a consumer's dead-letter topic is
 * bound with the source queue's name as routing key.
 */

/** What the topology is made of. */
export interface AmqpTopologyOptions {
  prefix: string;
  queueType: QueueType;
  deliveryLimit: number | false;
  adoptExisting: boolean;
  logger: Logger | undefined;
}

/**
 * The exchanges and queues of one adapter.
 *
 * @example
 * ```ts
 * const topology = new AmqpTopology({ prefix: '', queueType: 'quorum', deliveryLimit: 20, adoptExisting: false, logger: undefined });
 * await topology.declareQueue(model, 'orders', 'default');
 * ```
 */
export class AmqpTopology {
  readonly #prefix: string;
  readonly #queueType: QueueType;
  readonly #deliveryLimit: number | false;
  readonly #adoptExisting: boolean;
  readonly #logger: Logger | undefined;
  /** The direct exchange topics are published to. */
  readonly topicsExchange: string;
  /** The direct exchange every queue dead-letters to. */
  readonly deadLetterExchange: string;

  constructor(options: AmqpTopologyOptions) {
    this.#prefix = options.prefix;
    this.#queueType = options.queueType;
    this.#deliveryLimit = options.deliveryLimit;
    this.#adoptExisting = options.adoptExisting;
    this.#logger = options.logger;
    this.topicsExchange = `${options.prefix}scaleout.topics`;
    this.deadLetterExchange = `${options.prefix}scaleout.dead-letter`;
  }

  /** The type of the queues declared. */
  get queueType(): QueueType {
    return this.#queueType;
  }

  /** The queue of (topic, group). */
  queueName(topic: string, group: string): string {
    return group === 'default' ? `${this.#prefix}${topic}` : `${this.#prefix}${topic}/${group}`;
  }

  /** Declares the topics and dead-letter exchanges. */
  async declareExchanges(channel: Channel): Promise<void> {
    await channel.assertExchange(this.topicsExchange, 'direct', { durable: true });
    await channel.assertExchange(this.deadLetterExchange, 'direct', { durable: true });
  }

  /**
   * Declares the queue of (topic, group), bound to the topics exchange (and
   * to `extra` bindings), on channels of its own: a queue that exists with
   * other arguments fails with `QueueMismatchError`, or is adopted (see
   * amqp-queue-declaration.ts).
   */
  async declareQueue(
    model: ChannelModel,
    topic: string,
    group: string,
    extra: ReadonlyArray<{ exchange: string; routingKey: string }> = [],
  ): Promise<string> {
    const name = this.queueName(topic, group);
    const type = this.#queueType;
    await declareQueue(
      { model, adoptExisting: this.#adoptExisting, logger: this.#logger },
      {
        name,
        options: queueOptions({
          type,
          name,
          deadLetterExchange: this.deadLetterExchange,
          deliveryLimit: this.#deliveryLimit,
        }),
        bindings: [{ exchange: this.topicsExchange, routingKey: topic }, ...extra],
        explain: (argument, existing) => typeMismatchHint(type, argument, existing),
      },
    );
    return name;
  }

  /** Declares the dead-letter topic's queue, bound to the dead-letter exchange for `source`. */
  declareDeadLetterQueue(model: ChannelModel, deadTopic: string, source: string): Promise<string> {
    return this.declareQueue(model, deadTopic, 'default', [
      { exchange: this.deadLetterExchange, routingKey: source },
    ]);
  }
}
