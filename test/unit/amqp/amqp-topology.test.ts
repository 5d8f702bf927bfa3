import { describe, expect, it } from 'vitest';
import { AmqpTopology } from '../../../src/adapters/amqp/amqp-topology.js';

describe('AmqpTopology names', () => {
  const topology = new AmqpTopology({
    prefix: 'shop.',
    queueType: 'quorum',
    deliveryLimit: 20,
    adoptExisting: false,
    logger: undefined,
  });

  it('routes topics through <prefix>scaleout.topics and dead letters through <prefix>scaleout.dead-letter', () => {
    expect(topology.topicsExchange).toBe('shop.scaleout.topics');
    expect(topology.deadLetterExchange).toBe('shop.scaleout.dead-letter');
    expect(topology.queueType).toBe('quorum');
  });

  it('names the default group queue <prefix><topic> and group g <prefix><topic>/g', () => {
    expect(topology.queueName('orders', 'default')).toBe('shop.orders');
    expect(topology.queueName('orders', 'billing')).toBe('shop.orders/billing');
  });
});
