/**
 * `scaleout/amqp`: RabbitMQ adapters for the scaleout primitives, on amqplib
 * (an optional peer dependency: install `amqplib` to use this entry).
 *
 * @example
 * ```ts
 * import { amqpQueueAdapter } from 'scaleout/amqp';
 * ```
 *
 * @module scaleout/amqp
 */

export * from './adapters/amqp/index.js';
