import type { ConsumeMessage } from 'amqplib';
import { describe, expect, it } from 'vitest';
import {
  brokerDeathHeaders,
  copyProperties,
  stringHeaders,
} from '../../../src/adapters/amqp/amqp-message.js';
import { describeMismatch } from '../../../src/adapters/amqp/amqp-queue-declaration.js';
import { brokerReturns, queueOptions, typeMismatchHint } from '../../../src/adapters/amqp/amqp-queue-type.js';
import { amqpQueueAdapter } from '../../../src/amqp.js';
import { InvalidOptionsError, MAX_FAILURES_HEADER } from '../../../src/index.js';

function message(redelivered: boolean, headers: Record<string, unknown> = {}): ConsumeMessage {
  return {
    content: Buffer.from('{}'),
    fields: { deliveryTag: 1, redelivered, exchange: '', routingKey: 'q', consumerTag: 'c' },
    properties: { headers, messageId: 'm' },
  } as unknown as ConsumeMessage;
}

/** 406 replies as RabbitMQ 3.10 words them (amqplib's message). */
const reply = (text: string) => ({
  code: 406,
  message: `Operation failed: QueueDeclare; 406 (PRECONDITION-FAILED) with message "PRECONDITION_FAILED - ${text}"`,
});

describe('queue declarations by type', () => {
  it('quorum: replicated, at-least-once dead-lettering (which needs reject-publish), a delivery limit', () => {
    expect(
      queueOptions({ type: 'quorum', name: 'p.orders', deadLetterExchange: 'p.dlx', deliveryLimit: 20 }),
    ).toEqual({
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        'x-dead-letter-exchange': 'p.dlx',
        'x-dead-letter-routing-key': 'p.orders',
        'x-dead-letter-strategy': 'at-least-once',
        'x-overflow': 'reject-publish',
        'x-delivery-limit': 20,
      },
    });
    const unlimited = queueOptions({
      type: 'quorum',
      name: 'q',
      deadLetterExchange: 'x',
      deliveryLimit: false,
    });
    expect(unlimited.arguments).not.toHaveProperty('x-delivery-limit');
  });

  it('classic: exactly what versions without queueType declared (an upgrade stays equivalent)', () => {
    expect(
      queueOptions({ type: 'classic', name: 'orders', deadLetterExchange: 'dlx', deliveryLimit: 20 }),
    ).toEqual({
      durable: true,
      arguments: { 'x-dead-letter-exchange': 'dlx', 'x-dead-letter-routing-key': 'orders' },
    });
  });

  it('queueType and deliveryLimit options: checked, named in refusals', () => {
    const refusals: Array<[Record<string, unknown>, string]> = [
      [{ queueType: 'mirrored' }, 'queueType'],
      [{ queueType: 'Quorum' }, 'queueType'],
      [{ deliveryLimit: 0 }, 'deliveryLimit'],
      [{ deliveryLimit: 1.5 }, 'deliveryLimit'],
      [{ deliveryLimit: true }, 'deliveryLimit'],
      [{ deliveryLimit: Number.POSITIVE_INFINITY }, 'deliveryLimit'],
      [{ queueType: 'classic', deliveryLimit: 5 }, 'deliveryLimit'],
      [{ type: 'quorum' }, 'type'],
    ];
    for (const [extra, option] of refusals) {
      const err = (() => {
        try {
          amqpQueueAdapter({ url: 'amqp://127.0.0.1:1', ...extra } as never);
        } catch (e) {
          return e;
        }
      })();
      expect(err, JSON.stringify(extra)).toBeInstanceOf(InvalidOptionsError);
      expect((err as InvalidOptionsError).option).toBe(option);
    }
    const typo = (() => {
      try {
        amqpQueueAdapter({ url: 'amqp://127.0.0.1:1', type: 'quorum' } as never);
      } catch (e) {
        return e as InvalidOptionsError;
      }
    })();
    expect(typo?.suggestion).toBe('queueType');
    expect(amqpQueueAdapter({ url: 'amqp://127.0.0.1:1' }).queueType).toBe('quorum');
    expect(amqpQueueAdapter({ url: 'amqp://127.0.0.1:1', queueType: 'classic' }).queueType).toBe('classic');
    expect(() => amqpQueueAdapter({ url: 'amqp://127.0.0.1:1', deliveryLimit: false })).not.toThrow();
  });
});

describe('the broker delivery count', () => {
  it('counts returns only on a redelivery: a header on a first delivery is not the broker’s', () => {
    expect(brokerReturns(message(false))).toBe(0);
    expect(brokerReturns(message(false, { 'x-delivery-count': 7 }))).toBe(0);
    expect(brokerReturns(message(true, { 'x-delivery-count': 3 }))).toBe(3);
    expect(brokerReturns(message(true, { 'x-delivery-count': 3n }))).toBe(3);
  });

  it('a redelivery without a usable count (classic queues, junk) counts once; a huge one is capped', () => {
    for (const junk of [undefined, 0, -4, 1.5, '3', Number.NaN, null, { n: 1 }]) {
      expect(brokerReturns(message(true, { 'x-delivery-count': junk })), String(junk)).toBe(1);
    }
    expect(brokerReturns(message(true))).toBe(1);
    expect(brokerReturns(message(true, { 'x-delivery-count': 10 ** 9 }))).toBe(MAX_FAILURES_HEADER);
  });

  it('the count is the broker’s: hidden from handlers and never copied onto a retry', () => {
    const msg = message(true, { 'x-delivery-count': 2, 'x-acquired-count': 2, tenant: 'acme' });
    expect(stringHeaders(msg.properties.headers)).toEqual({ tenant: 'acme' });
    expect(copyProperties(msg, { extra: '1' }, 'm').headers).toEqual({ tenant: 'acme', extra: '1' });
  });
});

describe('why the broker dead-lettered a message', () => {
  it('names the reason of a broker dead letter; leaves scaleout’s own and other messages alone', () => {
    expect(brokerDeathHeaders(message(false, { 'x-first-death-reason': 'delivery_limit' }))).toEqual({
      'x-scaleout-error-name': 'RabbitMQ',
      'x-scaleout-error': 'dead-lettered by RabbitMQ (delivery_limit)',
    });
    expect(brokerDeathHeaders(message(false, { 'x-first-death-reason': Buffer.from('rejected') }))).toEqual({
      'x-scaleout-error-name': 'RabbitMQ',
      'x-scaleout-error': 'dead-lettered by RabbitMQ (rejected)',
    });
    expect(brokerDeathHeaders(message(false))).toEqual({});
    expect(brokerDeathHeaders(message(false, { 'x-first-death-reason': '<script>' }))).toEqual({});
    expect(
      brokerDeathHeaders(
        message(false, { 'x-first-death-reason': 'rejected', 'x-scaleout-reason': 'handler-error' }),
      ),
    ).toEqual({});
  });
});

describe('a queue of the other type', () => {
  it('an existing classic queue met by a quorum declaration: named as such, with both ways out', () => {
    const m = describeMismatch(
      reply(
        "inequivalent arg 'x-overflow' for queue 'orders' in vhost '/': received the value 'reject-publish' of type 'longstr' but current is none",
      ),
    );
    expect(m).toMatchObject({ argument: 'x-overflow', hasNone: true, receivedNone: false });
    const hint = typeMismatchHint('quorum', m.argument, m);
    expect(hint).toMatch(/classic queue/);
    expect(hint).toMatch(/queueType: "classic"/);
  });

  it('an existing quorum queue met by a classic declaration', () => {
    const m = describeMismatch(
      reply(
        "inequivalent arg 'x-dead-letter-strategy' for queue 'orders' in vhost '/': received none but current is the value 'at-least-once' of type 'longstr'",
      ),
    );
    expect(m).toMatchObject({ argument: 'x-dead-letter-strategy', hasNone: false, receivedNone: true });
    expect(typeMismatchHint('classic', m.argument, m)).toMatch(/is a quorum queue/);
  });

  it('other mismatches get no type hint (the generic message names both values)', () => {
    const limit = describeMismatch(
      reply(
        "inequivalent arg 'x-delivery-limit' for queue 'q' in vhost '/': received '5' but current is '2'",
      ),
    );
    expect(typeMismatchHint('quorum', limit.argument, limit)).toBeUndefined();
    const dlx = describeMismatch(
      reply(
        "inequivalent arg 'x-dead-letter-exchange' for queue 'q' in vhost '/': received the value 'dlx' of type 'longstr' but current is none",
      ),
    );
    expect(typeMismatchHint('quorum', dlx.argument, dlx)).toBeUndefined();
  });
});
