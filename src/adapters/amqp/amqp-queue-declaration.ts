import type { Channel, ChannelModel, Options } from 'amqplib';
import { QueueMismatchError } from '../../errors.js';
import type { Logger } from '../../types.js';

/**
 * @internal Declaring the queues of the RabbitMQ adapter, and what to do
 * when a queue already exists with other arguments (RabbitMQ answers
 * `406 PRECONDITION_FAILED` and closes the channel): refuse with
 * {@link QueueMismatchError} naming the argument, or adopt the queue as it
 * was declared.
 *
 * Every declaration runs on a channel of its own, so that a 406 (or a 404
 * of the passive check) never closes the publisher's confirm channel or a
 * consumer's channel.
 */

/** How one queue should be declared. */
export interface QueueDeclaration {
  /** The queue name. */
  name: string;
  /** Arguments scaleout declares (dead-letter exchange and routing key). */
  options: Options.AssertQueue;
  /** Exchange and routing key to bind the queue to, once it exists. */
  bindings: ReadonlyArray<{ exchange: string; routingKey: string }>;
  /**
   * More to say about a mismatch of `argument` (e.g. that the existing
   * queue is of another type), added to the error message.
   */
  explain?(
    argument: string | undefined,
    existing: { hasNone: boolean; receivedNone: boolean },
  ): string | undefined;
}

/** What the declaration found. */
export interface DeclaredQueue {
  name: string;
  /** True when the queue existed with other arguments and was used as it is. */
  adopted: boolean;
}

/** Where the declaration runs and what it may do. */
export interface DeclarationContext {
  model: ChannelModel;
  /** Use a queue that exists with other arguments instead of failing. */
  adoptExisting: boolean;
  logger: Logger | undefined;
}

/** The option that adopts existing queues, named in every mismatch error. */
export const ADOPT_OPTION = 'adoptExistingQueues';

/** A channel error with an AMQP reply code (amqplib sets `code`). */
function replyCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * What a 406 says differs. RabbitMQ's text reads: `inequivalent arg
 * 'x-dead-letter-exchange' for queue 'q' in vhost '/': received the value
 * 'a' of type 'longstr' but current is none`.
 */
export function describeMismatch(err: unknown): {
  argument: string | undefined;
  detail: string;
  /** The existing queue does not have the argument. */
  hasNone: boolean;
  /** scaleout's declaration does not have it (the existing queue does). */
  receivedNone: boolean;
} {
  const text = String((err as { message?: unknown } | null)?.message ?? '');
  const argument = /inequivalent arg '([^']{1,100})'/.exec(text)?.[1];
  const current = /but current is (.{1,200}?)"?$/.exec(text)?.[1];
  const received = /received (?:the value )?('[^']{0,200}'|none|'[^']*' of type '[^']*')/.exec(text)?.[1];
  const parts: string[] = [];
  if (received !== undefined) parts.push(`scaleout declares ${received}`);
  if (current !== undefined) parts.push(`the existing queue has ${current}`);
  return {
    argument,
    detail: parts.join(', '),
    hasNone: current === 'none',
    receivedNone: received === 'none',
  };
}

async function withChannel<T>(model: ChannelModel, run: (channel: Channel) => Promise<T>): Promise<T> {
  const channel = await model.createChannel();
  // A channel-level error also rejects the pending operation: that is where it is handled.
  channel.on('error', () => {});
  let closed = false;
  channel.once('close', () => {
    closed = true;
  });
  try {
    return await run(channel);
  } finally {
    if (!closed) await channel.close().catch(() => {});
  }
}

/**
 * Declares a queue with scaleout's arguments and binds it. When the queue
 * exists with other arguments: with `adoptExisting`, checks that it exists
 * (passive declare) and binds it as it is; without, throws
 * {@link QueueMismatchError} naming the queue, the argument and
 * {@link ADOPT_OPTION}. Other failures are rethrown as they are.
 */
export async function declareQueue(ctx: DeclarationContext, queue: QueueDeclaration): Promise<DeclaredQueue> {
  let adopted = false;
  try {
    await withChannel(ctx.model, (channel) => channel.assertQueue(queue.name, queue.options));
  } catch (err) {
    if (replyCode(err) !== 406) throw err;
    const mismatch = describeMismatch(err);
    const { argument, detail } = mismatch;
    if (!ctx.adoptExisting) {
      const explained = queue.explain?.(argument, mismatch);
      throw new QueueMismatchError(
        `RabbitMQ queue "${queue.name}" already exists with other arguments` +
          `${argument === undefined ? '' : ` (${argument}${detail === '' ? '' : `: ${detail}`})`}` +
          (explained === undefined
            ? `: it was declared by other code (for example channel.assertQueue('${queue.name}', { durable: true })). `
            : `: ${explained}. `) +
          `Pass { ${ADOPT_OPTION}: true } to amqpQueueAdapter to use it as it is declared (see "Adopting existing queues" in docs/queue.md), or delete it so that scaleout declares it`,
        { queue: queue.name, cause: err },
      );
    }
    // Adopted: the queue stays as it is; a passive declare checks that it is still there.
    await withChannel(ctx.model, (channel) => channel.checkQueue(queue.name));
    adopted = true;
    ctx.logger?.info?.('AMQP queue exists with other arguments; adopted as it is', {
      queue: queue.name,
      argument,
    });
  }
  if (queue.bindings.length > 0) {
    await withChannel(ctx.model, async (channel) => {
      for (const b of queue.bindings) await channel.bindQueue(queue.name, b.exchange, b.routingKey);
    });
  }
  return { name: queue.name, adopted };
}
