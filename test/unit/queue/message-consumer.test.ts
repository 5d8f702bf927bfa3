import { describe, expect, it, vi } from 'vitest';
import type { QueueAdapter, QueueDelivery } from '../../../src/index.js';
import { MessageQueue } from '../../../src/index.js';
import { MAX_TIMER_MS } from '../../../src/internal/timers.js';
import { PAST_TIMER_RANGE_MS } from '../../helpers/timer-overflow.js';

/** A delivery of JSON `body` that records how it was settled. */
function delivery(id: string, settled: string[]): QueueDelivery {
  return {
    id,
    topic: 't',
    body: JSON.stringify(id),
    headers: {},
    deliveryCount: 1,
    publishedAt: undefined,
    ack: async () => void settled.push(`ack ${id}`),
    retry: async () => void settled.push(`retry ${id}`),
    deadLetter: async () => void settled.push(`dead ${id}`),
  };
}

/**
 * An adapter whose subscription records when it is released; with
 * `stopDelivering` given, its subscription has that method (called with
 * the consumer's onDelivery), else none.
 */
function recordingAdapter(
  steps: string[],
  stopDelivering?: (onDelivery: (d: QueueDelivery) => void) => Promise<void>,
) {
  let deliver: (d: QueueDelivery) => void = () => {};
  const adapter: QueueAdapter = {
    publish: async () => {},
    close: async () => {},
    consume: async (_topic, onDelivery) => {
      deliver = onDelivery;
      const unsubscribe = async () => void steps.push('unsubscribe');
      return stopDelivering === undefined
        ? { unsubscribe }
        : { stopDelivering: () => stopDelivering(onDelivery), unsubscribe };
    },
  };
  return { adapter, deliver: (d: QueueDelivery) => deliver(d) };
}

describe('MessageConsumer stop with an adapter that has stopDelivering()', () => {
  it('stops the adapter reading first, handles what it still delivers meanwhile, ignores what comes after, then unsubscribes', async () => {
    const steps: string[] = [];
    const settled: string[] = [];
    const { adapter, deliver } = recordingAdapter(steps, async (onDelivery) => {
      steps.push('stopDelivering');
      // The read that was in flight returns one more message.
      await new Promise((r) => setTimeout(r, 5));
      onDelivery(delivery('in-flight-read', settled));
    });
    const queue = new MessageQueue({ adapter });
    const handled: string[] = [];
    const consumer = await queue.consume('t', async (id: string) => {
      handled.push(id);
      await new Promise((r) => setTimeout(r, 20));
      steps.push(`handled ${id}`);
    });
    deliver(delivery('first', settled));
    const closing = consumer.close();
    await closing;
    deliver(delivery('after-stop', settled));
    await new Promise((r) => setTimeout(r, 30));
    expect(handled).toEqual(['first', 'in-flight-read']);
    expect(settled.sort()).toEqual(['ack first', 'ack in-flight-read']);
    expect(steps).toEqual(['stopDelivering', 'handled first', 'handled in-flight-read', 'unsubscribe']);
    await queue.close();
  });

  it('without stopDelivering(), a delivery that arrives once the stop began is left unsettled for the back end', async () => {
    const settled: string[] = [];
    const { adapter, deliver } = recordingAdapter([]);
    const queue = new MessageQueue({ adapter });
    const handled: string[] = [];
    const consumer = await queue.consume('t', async (id: string) => {
      handled.push(id);
      await new Promise((r) => setTimeout(r, 20));
    });
    deliver(delivery('first', settled));
    const closing = consumer.close();
    deliver(delivery('during-stop', settled));
    await closing;
    expect(handled).toEqual(['first']);
    expect(settled).toEqual(['ack first']);
    await queue.close();
  });
});

describe('MessageConsumer stop with a signal (a stop deadline)', () => {
  it('an abort ends the wait for a handler in flight before closeTimeoutMs: the subscription is released at once', async () => {
    const steps: string[] = [];
    const settled: string[] = [];
    const { adapter, deliver } = recordingAdapter(steps);
    const queue = new MessageQueue({ adapter, closeTimeoutMs: 30_000 });
    let release: () => void = () => {};
    const consumer = await queue.consume('t', () => new Promise<void>((r) => (release = r)));
    deliver(delivery('long', settled));
    const deadline = new AbortController();
    const closing = consumer.close({ signal: deadline.signal });
    await new Promise((r) => setTimeout(r, 20));
    expect(steps).toEqual([]);
    deadline.abort();
    await closing;
    expect(steps).toEqual(['unsubscribe']);
    expect(settled).toEqual([]);
    release();
    await queue.close();
  });

  it('a signal given to a later call cuts short a stop already waiting', async () => {
    const steps: string[] = [];
    const { adapter, deliver } = recordingAdapter(steps);
    const queue = new MessageQueue({ adapter, closeTimeoutMs: 30_000 });
    const consumer = await queue.consume('t', () => new Promise<void>(() => {}));
    deliver(delivery('stuck', []));
    const first = consumer.close();
    const second = consumer.close({ signal: AbortSignal.abort() });
    expect(second).toBe(first);
    await first;
    expect(steps).toEqual(['unsubscribe']);
    await queue.close();
  });

  it('refuses (a rejected promise) unknown keys, naming signal, and a signal that is not an AbortSignal', async () => {
    const { adapter } = recordingAdapter([]);
    const queue = new MessageQueue({ adapter });
    const consumer = await queue.consume('t', () => {});
    await expect(consumer.close({ timeoutMs: 5 } as never)).rejects.toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', suggestion: 'signal' }),
    );
    await expect(consumer.close(5 as never)).rejects.toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }),
    );
    await expect(consumer.unsubscribe({ signal: {} as AbortSignal })).rejects.toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
    );
    await queue.close();
  });
});

describe('MessageConsumer stop with a closeTimeoutMs past the 32-bit timer range', () => {
  it('still waits for the handler in flight (node would fire the timer after 1 ms)', async () => {
    const queue = new MessageQueue({ closeTimeoutMs: 3_000_000_000 });
    let finished = false;
    let started!: () => void;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    const consumer = await queue.consume('long-close-timeout', async () => {
      started();
      await new Promise((r) => setTimeout(r, 100));
      finished = true;
    });
    await queue.publish('long-close-timeout', 1);
    await running;
    await consumer.close();
    expect(finished).toBe(true);
    await queue.close();
  });
});

describe('MessageConsumer stop: closeTimeoutMs of 35 days', () => {
  it('waits for a hung handler 35 days, not ~24.8 (the longest node timer), then releases', async () => {
    // vitest's fake timers treat a delay past 2^31 - 1 ms as node does (1 ms).
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const steps: string[] = [];
      const { adapter, deliver } = recordingAdapter(steps);
      const queue = new MessageQueue({ adapter, closeTimeoutMs: PAST_TIMER_RANGE_MS });
      const consumer = await queue.consume('t', () => new Promise<void>(() => {}));
      deliver(delivery('stuck', []));
      void consumer.close();
      await vi.advanceTimersByTimeAsync(MAX_TIMER_MS + 1_000);
      expect(steps).toEqual([]);
      await vi.advanceTimersByTimeAsync(PAST_TIMER_RANGE_MS - MAX_TIMER_MS - 1_000);
      expect(steps).toEqual(['unsubscribe']);
      await queue.close();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('MessageConsumer: a retry delay past the 32-bit timer range', () => {
  it('a failed message waits its whole 35-day retry delay, not ~24.8 days (the longest node timer)', async () => {
    // vitest's fake timers treat a delay past 2^31 - 1 ms as node does (1 ms).
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    // Full jitter draws from [0, retryMaxMs]: near the top, ~35 days.
    vi.spyOn(Math, 'random').mockReturnValue(0.999_999);
    try {
      const settled: string[] = [];
      const { adapter, deliver } = recordingAdapter([]);
      const queue = new MessageQueue({
        adapter,
        retryBaseMs: PAST_TIMER_RANGE_MS,
        retryMaxMs: PAST_TIMER_RANGE_MS,
      });
      const delays: number[] = [];
      queue.on('retry', (e) => delays.push(e.delayMs));
      await queue.consume('t', async () => {
        throw new Error('not yet');
      });
      deliver(delivery('m', settled));
      await vi.advanceTimersByTimeAsync(0);
      expect(delays).toHaveLength(1);
      const delayMs = delays[0]!;
      expect(delayMs).toBeGreaterThan(MAX_TIMER_MS + 1_000);
      await vi.advanceTimersByTimeAsync(MAX_TIMER_MS + 1_000);
      expect(settled).toEqual([]);
      await vi.advanceTimersByTimeAsync(delayMs - MAX_TIMER_MS - 1_000 - 1);
      expect(settled).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      expect(settled).toEqual(['retry m']);
      await queue.close();
    } finally {
      vi.restoreAllMocks();
      vi.useRealTimers();
    }
  });
});
