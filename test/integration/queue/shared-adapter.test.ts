import { describe, expect, it } from 'vitest';
import { memoryQueueAdapter } from '../../../src/adapters/memory/memory-queue-adapter.js';
import { redisStreamsQueueAdapter } from '../../../src/adapters/redis/queue.js';
import type { QueueAdapter } from '../../../src/contracts/queue.js';
import { MessageQueue } from '../../../src/queue/message-queue.js';
import { adapterKinds } from '../../helpers/adapter-kinds.js';
import { until } from '../../helpers/wait.js';

const adapters = adapterKinds<QueueAdapter>('queue-shared', {
  memory: () => memoryQueueAdapter(),
  redis: (url, prefix) =>
    redisStreamsQueueAdapter({ connection: url, prefix, blockMs: 50, sweepIntervalMs: 50 }),
});

describe.each(adapters.kinds)('two message queues sharing one %s adapter', (kind) => {
  it.each(['first', 'second'])('closing the %s leaves the other and the adapter working', async (which) => {
    const adapter = adapters.open(kind);
    const first = new MessageQueue({ adapter });
    const second = new MessageQueue({ adapter });
    const [closing, open] = which === 'first' ? [first, second] : [second, first];
    const got: unknown[] = [];
    await open.consume('orders', (m) => void got.push(m));
    await closing.publish('orders', { n: 1 });
    await until('the first message', () => got.length === 1, 10_000, 10);
    await closing.close();
    await expect(closing.publish('orders', { n: 2 })).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    // The survivor still publishes and consumes through the adapter the other no longer uses.
    await open.publish('orders', { n: 3 });
    await until('the message sent after the close', () => got.length === 2, 10_000, 10);
    expect(got).toEqual([{ n: 1 }, { n: 3 }]);
    await open.close();
  });
});
