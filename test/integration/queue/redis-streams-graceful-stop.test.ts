/**
 * A graceful stop of a Redis Streams consumer leaves nothing read but not
 * started: the stopping consumer ends its blocked read at once, handles what
 * that read returned, and the rest stays in the stream for the other
 * consumers of the group, which take it without waiting `claimIdleMs` (30 s
 * by default; these tests use every default of the adapter).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageQueue } from '../../../src/index.js';
import { redisStreamsQueueAdapter } from '../../../src/redis.js';
import { uniquePrefix } from '../../helpers/keys.js';
import { closedAfterTest } from '../../helpers/owned-adapter.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';
import { sleep, until } from '../../helpers/wait.js';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});

interface Job {
  id: string;
  /** How long its handler takes. */
  ms: number;
}

describe('redisStreamsQueueAdapter: a graceful stop', () => {
  it('messages published while a consumer stops are handled by the group well within 1 s (claimIdleMs at its 30 s default), each once', async () => {
    const prefix = uniquePrefix('graceful-stop');
    const admin = server.client();
    const started = new Map<string, { atMs: number; by: string; times: number }>();
    const publishedAt = new Map<string, number>();
    const handler = (by: string) => async (job: Job) => {
      const seen = started.get(job.id);
      started.set(job.id, { atMs: seen?.atMs ?? performance.now(), by, times: (seen?.times ?? 0) + 1 });
      await sleep(job.ms);
    };
    const queue = (consumerName?: string) =>
      new MessageQueue({
        adapter: closedAfterTest(
          redisStreamsQueueAdapter({
            connection: server.client(),
            prefix,
            ...(consumerName === undefined ? {} : { consumerName }),
          }),
        ),
      });
    const a = queue('a');
    const b = queue('b');
    const publisher = queue();
    const publish = async (id: string, ms: number) => {
      publishedAt.set(id, performance.now());
      await publisher.publish('jobs', { id, ms } satisfies Job);
    };
    try {
      // B has one slot, busy for 400 ms; A has two, one busy for 300 ms, and
      // its read of the second is blocked on the server when it is told to stop.
      await b.consume('jobs', handler('b'), { group: 'workers', prefetch: 1 });
      await publish('b-busy', 400);
      await until('B to start its message', () => started.has('b-busy'));
      const consumerA = await a.consume('jobs', handler('a'), { group: 'workers', prefetch: 2 });
      await publish('a-busy', 300);
      await until('A to start its message', () => started.has('a-busy'));
      const closing = consumerA.close();
      const late = ['m1', 'm2', 'm3'];
      for (const id of late) await publish(id, 0);
      await closing;
      await until('every message to start', () => late.every((id) => started.has(id)), 10_000);
      const waits = late.map((id) => Math.round(started.get(id)!.atMs - publishedAt.get(id)!));
      // Before this stop existed, A went on reading while it drained and its
      // stop left them pending with A: none had started 10 s later (they
      // waited for claimIdleMs, 30 s).
      for (const waitMs of waits) expect(waitMs).toBeLessThan(1_000);
      await until('nothing pending in the group', async () => {
        const [count] = (await admin.call('XPENDING', `${prefix}jobs`, 'workers')) as [number];
        return Number(count) === 0;
      });
      expect([...started.values()].map((s) => s.times)).toEqual([1, 1, 1, 1, 1]);
      expect(consumerA.inFlight).toBe(0);
    } finally {
      await a.close();
      await b.close();
      await publisher.close();
    }
  }, 20_000);

  it('a stop ends a blocked read at once: an idle consumer (blockMs 2 s by default) stops in well under its BLOCK, and messages published after go to the group', async () => {
    const prefix = uniquePrefix('graceful-stop-idle');
    const handled: string[] = [];
    const make = (consumerName: string) =>
      new MessageQueue({
        adapter: closedAfterTest(
          redisStreamsQueueAdapter({ connection: server.client(), prefix, consumerName }),
        ),
      });
    const a = make('a');
    const b = make('b');
    try {
      const consumerA = await a.consume('jobs', (job: Job) => void handled.push(`a:${job.id}`), {
        group: 'workers',
      });
      await b.consume('jobs', (job: Job) => void handled.push(`b:${job.id}`), { group: 'workers' });
      await sleep(100); // both blocked on XREADGROUP
      const t0 = performance.now();
      await consumerA.close();
      const stopMs = performance.now() - t0;
      await b.publish('jobs', { id: 'after', ms: 0 } satisfies Job);
      await until('the message to be handled', () => handled.length === 1, 5_000);
      expect(handled).toEqual(['b:after']);
      expect(stopMs).toBeLessThan(500);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('without the right to CLIENT UNBLOCK (a Redis user without @admin), the stop waits for the read to end by itself, bounded, and still leaves nothing behind', async () => {
    const admin = server.client();
    const user = `q${Math.random().toString(36).slice(2, 10)}`;
    await admin.call('ACL', 'SETUSER', user, 'on', '>pw', '~*', '&*', '+@all', '-@admin', '-@dangerous');
    const prefix = uniquePrefix('graceful-stop-acl');
    const handled: string[] = [];
    const a = new MessageQueue({
      adapter: closedAfterTest(
        redisStreamsQueueAdapter({
          connection: { host: '127.0.0.1', port: server.port, username: user, password: 'pw' },
          prefix,
          consumerName: 'a',
        }),
      ),
    });
    const b = new MessageQueue({
      adapter: closedAfterTest(
        redisStreamsQueueAdapter({ connection: server.client(), prefix, consumerName: 'b' }),
      ),
    });
    try {
      const consumerA = await a.consume('jobs', (job: Job) => void handled.push(`a:${job.id}`), {
        group: 'workers',
      });
      await b.consume('jobs', (job: Job) => void handled.push(`b:${job.id}`), { group: 'workers' });
      await sleep(100);
      const t0 = performance.now();
      await consumerA.close();
      const stopMs = performance.now() - t0;
      await b.publish('jobs', { id: 'after', ms: 0 } satisfies Job);
      await until('the message to be handled', () => handled.length === 1, 5_000);
      expect(handled).toEqual(['b:after']);
      // The read's BLOCK (min(blockMs, sweepIntervalMs): 1 s) plus at most 1 s more.
      expect(stopMs).toBeLessThan(2_500);
      await until('nothing pending in the group', async () => {
        const [count] = (await admin.call('XPENDING', `${prefix}jobs`, 'workers')) as [number];
        return Number(count) === 0;
      });
    } finally {
      await a.close();
      await b.close();
      await admin.call('ACL', 'DELUSER', user);
    }
  });
});
