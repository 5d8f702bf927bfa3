export { AmqpQueueAdapter, amqpQueueAdapter } from './amqp-queue-adapter.js';
export type { AmqpQueueAdapterOptions } from './amqp-queue-adapter-options.js';
export { AMQP_QUEUE_DEFAULTS } from './amqp-queue-adapter-options.js';
