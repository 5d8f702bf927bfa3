export { MessageConsumer } from './message-consumer.js';
export type { MessageHandler } from './message-queue.js';
export { MessageQueue } from './message-queue.js';
export type {
  ConsumeOptions,
  DeadLetter,
  DeadLetterEvent,
  MessageContext,
  MessageQueueEvents,
  MessageQueueOptions,
  PublishOptions,
  QueueConnectionEvent,
  QueueErrorEvent,
  QueueRetryEvent,
} from './message-queue-options.js';
export { MESSAGE_QUEUE_DEFAULTS } from './message-queue-options.js';
