import { describe, expect, it } from 'vitest';
import { amqpQueueAdapter } from '../../../src/amqp.js';
import { InvalidOptionsError } from '../../../src/index.js';
import { redisStreamsQueueAdapter } from '../../../src/redis.js';

describe('queue adapter options', () => {
  it('redisStreamsQueueAdapter refuses bad options before connecting, naming the option', () => {
    const bad = [
      { prefix: 'has space' },
      { claimIdleMs: 0 },
      { sweepIntervalMs: -1 },
      { blockMs: 1.5 },
      { maxLength: 0 },
      { consumerName: '' },
    ];
    for (const extra of bad) {
      const err = (() => {
        try {
          redisStreamsQueueAdapter({ connection: 'redis://127.0.0.1:1', ...extra });
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(InvalidOptionsError);
      expect((err as InvalidOptionsError).option).toBe(Object.keys(extra)[0]);
    }
    expect(() => redisStreamsQueueAdapter({ connection: 'http://u:pw@x' })).toThrow(/^(?!.*pw@)/);
  });

  it('amqpQueueAdapter refuses bad options at construction and redacts URLs in the message', () => {
    expect(() => amqpQueueAdapter({ url: 'amqp://x', connection: async () => ({}) as never })).toThrow(
      InvalidOptionsError,
    );
    expect(() => amqpQueueAdapter({ url: 'amqp://x', publishTimeoutMs: 0 })).toThrow(InvalidOptionsError);
    expect(() => amqpQueueAdapter({ url: 'amqp://x', prefix: 'p'.repeat(101) })).toThrow(InvalidOptionsError);
    expect(() => amqpQueueAdapter({ connection: 42 as never })).toThrow(InvalidOptionsError);
    try {
      amqpQueueAdapter({ url: 'redis://admin:s3cret@host' });
      expect.unreachable();
    } catch (err) {
      expect(String((err as Error).message)).not.toContain('s3cret');
    }
  });
});
