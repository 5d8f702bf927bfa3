import { describe, expect, it } from 'vitest';
import { amqpQueueAdapter } from '../../../src/amqp.js';
import {
  failuresFromHeader,
  InvalidArgumentError,
  InvalidOptionsError,
  MAX_FAILURES_HEADER,
  memoryQueueAdapter,
} from '../../../src/index.js';
import { redisStreamsQueueAdapter } from '../../../src/redis.js';

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

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

  it("amqpQueueAdapter's close() refuses unknown option keys, a bare number and a signal that is not one; closeTimeoutMs is checked", async () => {
    // Never connected: nothing is dialled by these calls.
    const adapter = amqpQueueAdapter({ url: 'amqp://127.0.0.1:1' });
    const unknown = await adapter.close({ timeoutMs: 100 } as never).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(InvalidOptionsError);
    expect(unknown).toMatchObject({ code: 'ERR_INVALID_OPTIONS', suggestion: 'signal' });
    expect(await adapter.close(5_000 as never).catch((e: unknown) => e)).toBeInstanceOf(InvalidOptionsError);
    expect(await adapter.close({ signal: 'soon' as never }).catch((e: unknown) => e)).toBeInstanceOf(
      InvalidArgumentError,
    );
    // A refused call did not close it; a good one does, and a second is the same no-op.
    expect(adapter.connectionState).toBe('idle');
    await adapter.close({ signal: AbortSignal.timeout(1_000) });
    await adapter.close();
    expect(adapter.connectionState).toBe('closed');
    expect(thrown(() => amqpQueueAdapter({ url: 'amqp://x', closeTimeoutMs: -1 }))).toMatchObject({
      option: 'closeTimeoutMs',
    });
    expect(thrown(() => amqpQueueAdapter({ url: 'amqp://x', closeTimeout: 5 } as never))).toMatchObject({
      suggestion: 'closeTimeoutMs',
    });
  });

  it("redisStreamsQueueAdapter's close() refuses unknown option keys, a bare number and a signal that is not one; closeTimeoutMs is checked", async () => {
    // A lazy client: nothing is dialled by these calls.
    const adapter = redisStreamsQueueAdapter({ connection: { port: 1, lazyConnect: true } });
    const unknown = await adapter.close({ timeoutMs: 100 } as never).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(InvalidOptionsError);
    expect(unknown).toMatchObject({ code: 'ERR_INVALID_OPTIONS', suggestion: 'signal' });
    expect(await adapter.close(5_000 as never).catch((e: unknown) => e)).toBeInstanceOf(InvalidOptionsError);
    expect(await adapter.close({ signal: 'soon' as never }).catch((e: unknown) => e)).toBeInstanceOf(
      InvalidArgumentError,
    );
    // A refused call did not close it; a good one does, and a second is the same promise.
    expect(adapter.connectionState).not.toBe('closed');
    const first = adapter.close({ signal: AbortSignal.timeout(1_000) });
    expect(adapter.close()).toBe(first);
    await first;
    expect(adapter.connectionState).toBe('closed');
    const options = { connection: { port: 1, lazyConnect: true } };
    expect(thrown(() => redisStreamsQueueAdapter({ ...options, closeTimeoutMs: -1 }))).toMatchObject({
      option: 'closeTimeoutMs',
    });
    expect(thrown(() => redisStreamsQueueAdapter({ ...options, closeTimeout: 5 } as never))).toMatchObject({
      suggestion: 'closeTimeoutMs',
    });
  });

  it('every factory refuses unknown keys (naming the option meant), bare values and non-plain objects', () => {
    const memory = thrown(() => memoryQueueAdapter({ prefix: 'x' } as never)) as InvalidOptionsError;
    expect(memory).toBeInstanceOf(InvalidOptionsError);
    expect(memory.option).toBe('prefix');
    expect(thrown(() => memoryQueueAdapter(5 as never))).toBeInstanceOf(InvalidOptionsError);
    expect(() => memoryQueueAdapter({})).not.toThrow();

    const redis = thrown(() =>
      redisStreamsQueueAdapter({ connection: 'redis://127.0.0.1:1', maxLen: 10 } as never),
    ) as InvalidOptionsError;
    expect(redis).toBeInstanceOf(InvalidOptionsError);
    expect(redis.suggestion).toBe('maxLength');
    const redisUrl = thrown(() =>
      redisStreamsQueueAdapter('redis://127.0.0.1:1' as never),
    ) as InvalidOptionsError;
    expect(redisUrl).toBeInstanceOf(InvalidOptionsError);
    expect(redisUrl.message).toMatch(/\{ connection: /);
    expect(thrown(() => redisStreamsQueueAdapter(new Map() as never))).toBeInstanceOf(InvalidOptionsError);

    const amqp = thrown(() =>
      amqpQueueAdapter({ url: 'amqp://x', adoptExisting: true } as never),
    ) as InvalidOptionsError;
    expect(amqp).toBeInstanceOf(InvalidOptionsError);
    expect(amqp.suggestion).toBe('adoptExistingQueues');
    const amqpUrl = thrown(() => amqpQueueAdapter('amqp://u:secret@x' as never)) as InvalidOptionsError;
    expect(amqpUrl).toBeInstanceOf(InvalidOptionsError);
    expect(amqpUrl.option).toBe('url');
    expect(amqpUrl.message).not.toContain('secret');
    expect(
      thrown(() => amqpQueueAdapter({ url: 'amqp://x', adoptExistingQueues: 'yes' as never })),
    ).toMatchObject({
      option: 'adoptExistingQueues',
    });
    expect(thrown(() => amqpQueueAdapter({ url: 'amqp://x', prefix: 'amq.' }))).toMatchObject({
      option: 'prefix',
    });
  });

  it('adapters refuse malformed calls with typed errors, never a TypeError', async () => {
    const adapter = memoryQueueAdapter();
    const message = { id: 'm', body: '1', headers: {}, persistent: true, timestamp: 1 };
    const bad: unknown[] = [
      undefined,
      5,
      { ...message, id: 5 },
      { ...message, body: {} },
      { ...message, headers: new Map() },
      { ...message, headers: { n: 1 } },
      { ...message, timestamp: Number.NaN },
      { ...message, extra: 1 },
    ];
    for (const m of bad) {
      const err = await adapter.publish('t', m as never).catch((e: unknown) => e);
      expect(err, JSON.stringify(m) ?? String(m)).toBeInstanceOf(Error);
      expect((err as { code?: string }).code).toMatch(/^ERR_INVALID_(ARGUMENT|OPTIONS)$/);
    }
    const consumeErr = await adapter
      .consume('t', () => {}, { group: 'g', prefetch: 0, deadLetterTopic: undefined })
      .catch((e: unknown) => e);
    expect(consumeErr).toBeInstanceOf(InvalidArgumentError);
    await adapter.close();
  });
});

describe('failuresFromHeader', () => {
  it('reads a decimal integer in [0, MAX_FAILURES_HEADER]; anything else (forged, foreign) counts as 0', () => {
    expect(failuresFromHeader('0')).toBe(0);
    expect(failuresFromHeader('3')).toBe(3);
    expect(failuresFromHeader(String(MAX_FAILURES_HEADER))).toBe(MAX_FAILURES_HEADER);
    for (const v of [
      undefined,
      '',
      '-1',
      '1e3',
      ' 2',
      '2 ',
      '02',
      '0x1',
      '1.5',
      'NaN',
      'Infinity',
      '1001',
      '9'.repeat(400),
    ]) {
      expect(failuresFromHeader(v), String(v)).toBe(0);
    }
  });
});
