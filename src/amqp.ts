/**
 * `scaleout/amqp`: RabbitMQ adapters for the scaleout primitives, on amqplib
 * (an optional peer dependency: install `amqplib` to use this entry).
 *
 * @example
 * ```ts
 * import * as amqp from 'scaleout/amqp';
 * ```
 *
 * @module scaleout/amqp
 */

export {};
