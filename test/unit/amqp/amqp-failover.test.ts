import { createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { dialNode, MAX_NODE_URLS, NodeFailover, nodeUrls } from '../../../src/adapters/amqp/amqp-failover.js';
import { amqpQueueAdapter } from '../../../src/amqp.js';
import { InvalidOptionsError } from '../../../src/index.js';
import { seededRandom } from '../../helpers/seeded-random.js';
import { PAST_TIMER_RANGE_MS, stillPendingAfter, watchTimerOverflow } from '../../helpers/timer-overflow.js';

function thrown(run: () => unknown): InvalidOptionsError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidOptionsError);
    return err as InvalidOptionsError;
  }
  throw new Error('expected a throw');
}

describe('NodeFailover', () => {
  it('in-order: dials the nodes round and round, the one after a lost node next', () => {
    const nodes = new NodeFailover(['amqp://a', 'amqp://b', 'amqp://c'], 'in-order');
    const dialled = Array.from({ length: 7 }, () => nodes.next().url);
    expect(dialled).toEqual([
      'amqp://a',
      'amqp://b',
      'amqp://c',
      'amqp://a',
      'amqp://b',
      'amqp://c',
      'amqp://a',
    ]);
  });

  it('shuffle: each adapter its own order, every node once per round', () => {
    const urls = Array.from({ length: 8 }, (_, i) => `amqp://n${i}`);
    const random = seededRandom(7);
    const orders = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const nodes = new NodeFailover(urls, 'shuffle', random);
      const round = Array.from({ length: urls.length }, () => nodes.next().url);
      expect([...round].sort()).toEqual([...urls].sort());
      orders.add(round.join(','));
    }
    expect(orders.size).toBeGreaterThan(10);
  });

  it('waits only between rounds: every node of a round is tried at once, then backoff(round)', () => {
    const nodes = new NodeFailover(['amqp://a', 'amqp://b', 'amqp://c'], 'in-order');
    const backoff = (round: number) => 100 * (round + 1);
    expect([0, 1, 2, 3, 4, 5, 6].map((a) => nodes.delayBefore(a, backoff))).toEqual([
      0, 0, 0, 100, 0, 0, 200,
    ]);
    const one = new NodeFailover(['amqp://a'], 'in-order');
    expect([0, 1, 2].map((a) => one.delayBefore(a, backoff))).toEqual([0, 100, 200]);
  });

  it('names its nodes without credentials', () => {
    const nodes = new NodeFailover(['amqp://app:s3cret@a:5672', 'amqps://app:s3cret@b'], 'in-order');
    expect(nodes.where).not.toContain('s3cret');
    expect(nodes.where).toContain('***@a:5672');
    expect(nodes.next().where).toBe('amqp://***@a:5672');
  });
});

describe('the url option (one URL or the nodes of a cluster)', () => {
  it('takes one URL or a list', () => {
    expect(nodeUrls('amqp://a')).toEqual(['amqp://a']);
    expect(nodeUrls(['amqp://a', 'amqps://b'])).toEqual(['amqp://a', 'amqps://b']);
  });

  it('refuses an empty list, too many, duplicates, non-AMQP URLs and non-strings, never echoing a password', () => {
    const cases: unknown[] = [
      [],
      Array.from({ length: MAX_NODE_URLS + 1 }, (_, i) => `amqp://n${i}`),
      ['amqp://u:s3cret@a', 'amqp://u:s3cret@a'],
      ['amqp://a', 'http://u:s3cret@b'],
      ['amqp://a', 5],
      [['amqp://a']],
      'redis://u:s3cret@a',
      { 0: 'amqp://a', length: 1 },
    ];
    for (const url of cases) {
      const err = thrown(() => nodeUrls(url));
      expect(err.option).toBe('url');
      expect(err.message).not.toContain('s3cret');
    }
    expect(thrown(() => nodeUrls(['amqp://a', 'http://b'])).message).toContain('url[1]');
  });

  it('amqpQueueAdapter: url lists, nodeOrder, connectTimeoutMs; refusals name the option', () => {
    const adapter = amqpQueueAdapter({ url: ['amqp://u:s3cret@127.0.0.1:1', 'amqp://127.0.0.1:2'] });
    expect(adapter.connected).toBe(false);
    expect(adapter.broker).toBeUndefined();
    void adapter.close();
    expect(thrown(() => amqpQueueAdapter({ url: 'amqp://a', nodeOrder: 'random' as never })).option).toBe(
      'nodeOrder',
    );
    expect(thrown(() => amqpQueueAdapter({ url: 'amqp://a', connectTimeoutMs: 0 })).option).toBe(
      'connectTimeoutMs',
    );
    // Options that only mean something with url.
    const factory = async () => ({}) as never;
    expect(thrown(() => amqpQueueAdapter({ connection: factory, nodeOrder: 'in-order' })).option).toBe(
      'nodeOrder',
    );
    expect(thrown(() => amqpQueueAdapter({ connection: factory, connectTimeoutMs: 5 })).option).toBe(
      'connectTimeoutMs',
    );
    // The names users reach for point at url.
    for (const key of ['urls', 'hosts', 'nodes']) {
      const err = thrown(() => amqpQueueAdapter({ [key]: ['amqp://a'] } as never));
      expect(err.suggestion).toBe('url');
    }
    expect(thrown(() => amqpQueueAdapter(['amqp://a'] as never)).option).toBe('url');
  });
});

describe('dialNode: connectTimeoutMs past the 32-bit timer range', () => {
  it("a 35-day connect timeout is armed within node's range (no TimeoutOverflowWarning), and waits", async () => {
    // Loopback: a "broker" that accepts the TCP connection and never answers the handshake.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    const url = `amqp://127.0.0.1:${port}`;
    const overflow = watchTimerOverflow();
    try {
      const dialing = dialNode({ url, where: url }, PAST_TIMER_RANGE_MS);
      dialing.catch(() => {});
      expect(await stillPendingAfter(dialing, 30)).toBe(true);
      expect(overflow.count).toBe(0);
      for (const socket of sockets) socket.destroy();
      await expect(dialing).rejects.toThrow();
    } finally {
      overflow.stop();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
