export type { NodeOrder } from './amqp-failover.js';
export { AmqpQueueAdapter, amqpQueueAdapter } from './amqp-queue-adapter.js';
export type { AmqpQueueAdapterCloseOptions, AmqpQueueAdapterOptions } from './amqp-queue-adapter-options.js';
export { AMQP_QUEUE_DEFAULTS } from './amqp-queue-adapter-options.js';
export type { QueueType } from './amqp-queue-type.js';
