export type { AmqpQueueAdapterOptions } from './amqp-queue-adapter.js';
export { AMQP_QUEUE_DEFAULTS, AmqpQueueAdapter, amqpQueueAdapter } from './amqp-queue-adapter.js';
