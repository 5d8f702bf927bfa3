import { describe, expect, it } from 'vitest';
import {
  ClosedError,
  InvalidArgumentError,
  InvalidOptionsError,
  MessageQueue,
  memoryQueueAdapter,
} from '../../../src/index.js';

const until = async (check: () => boolean) => {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(check()).toBe(true);
};

describe('MessageQueue', () => {
  it('validates options at construction', () => {
    expect(() => new MessageQueue({ maxDeliveries: 0 })).toThrow(InvalidOptionsError);
    expect(() => new MessageQueue({ prefetch: 1.5 })).toThrow(InvalidOptionsError);
    expect(() => new MessageQueue({ retryBaseMs: 100, retryMaxMs: 10 })).toThrow(InvalidOptionsError);
    expect(() => new MessageQueue({ deadLetterSuffix: '' })).toThrow(InvalidOptionsError);
    expect(() => new MessageQueue({ maxDeliveries: undefined })).not.toThrow();
  });

  it('generates time-ordered UUID v7 ids and reserves x-scaleout- headers', async () => {
    const queue = new MessageQueue();
    const a = await queue.publish('t', 1);
    const b = await queue.publish('t', 2);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
    expect(a < b).toBe(true);
    await expect(queue.publish('t', 1, { headers: { 'x-scaleout-reason': 'x' } })).rejects.toThrow(
      InvalidArgumentError,
    );
    await expect(queue.consume('t', () => {}, { deadLetter: 't' })).rejects.toThrow(InvalidArgumentError);
    await queue.close();
  });

  it('emits retry events with the backoff delay and logs dead letters', async () => {
    const warnings: string[] = [];
    const queue = new MessageQueue({
      adapter: memoryQueueAdapter(),
      retryBaseMs: 1,
      retryMaxMs: 4,
      logger: { warn: (m, f) => warnings.push(`${m}:${String(f?.reason)}`) },
    });
    const retries: number[] = [];
    queue.on('retry', (e) => {
      retries.push(e.deliveryCount);
      expect(e.delayMs).toBeGreaterThanOrEqual(0);
      expect(e.delayMs).toBeLessThanOrEqual(4);
    });
    await queue.consume(
      'jobs',
      () => {
        throw new Error('boom');
      },
      { maxDeliveries: 4 },
    );
    await queue.publish('jobs', { n: 1 });
    await until(() => warnings.length === 1);
    expect(retries).toEqual([1, 2, 3]);
    expect(warnings).toEqual(['message dead-lettered:handler-error']);
    await queue.close();
  });

  it('refuses use after close', async () => {
    const queue = new MessageQueue();
    await queue.close();
    await expect(queue.publish('t', 1)).rejects.toThrow(ClosedError);
    await expect(queue.consume('t', () => {})).rejects.toThrow(ClosedError);
  });

  it('closing a consumer cuts a retry wait short and puts the message back at once', async () => {
    const queue = new MessageQueue({ retryBaseMs: 60_000, retryMaxMs: 60_000 });
    let calls = 0;
    const consumer = await queue.consume('slow', () => {
      calls++;
      throw new Error('fail');
    });
    await queue.publish('slow', 1);
    await until(() => calls === 1);
    const started = Date.now();
    await consumer.close();
    expect(Date.now() - started).toBeLessThan(5_000);
    const counts: number[] = [];
    await queue.consume('slow', (_v, ctx) => void counts.push(ctx.deliveryCount));
    await until(() => counts.length === 1);
    // At least the failed attempt counts (a copy that reached the closing
    // consumer counts as one more delivery, as it does on a broker).
    expect(counts[0]).toBeGreaterThanOrEqual(2);
    await queue.close();
  });
});
