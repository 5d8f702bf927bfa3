/**
 * The rolling restart: three instances of a service, each its own
 * OS process (workers/instance.ts), registered in a real redis-server; a
 * ServiceClient sends GETs and keyed POSTs (the key lets the client retry a
 * POST whose connection broke; the server has no idempotency store, so a
 * POST that ran twice would show as a duplicate effect) for the whole run and a publisher feeds a Redis Streams consumer group, while each
 * instance in turn gets SIGTERM, drains, exits and is started again.
 * 0 failed calls, 0 duplicate POST effects, every message handled exactly
 * once, every exit code 0; the time from SIGTERM to exit is reported.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisStreamsQueueAdapter } from '../../../src/adapters/redis/queue.js';
import { redisRegistryAdapter } from '../../../src/adapters/redis/registry.js';
import { ServiceClient } from '../../../src/client/service-client.js';
import { MessageQueue } from '../../../src/queue/message-queue.js';
import { ServiceRegistry } from '../../../src/registry/service-registry.js';
import { uniquePrefix } from '../../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';
import { until } from '../../helpers/wait.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

const worker = new URL('./workers/instance.ts', import.meta.url).pathname;

async function startInstance(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', worker], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const [line] = (await Promise.race([
    once(lines, 'line'),
    once(child, 'exit').then(() => {
      throw new Error('instance exited before it was ready');
    }),
  ])) as [string];
  if (!line.startsWith('ready ')) throw new Error(`unexpected line from the instance: ${line}`);
  return child;
}

describe('rolling restart of three OS processes with SIGTERM', () => {
  it('0 failed calls, 0 duplicate POST effects, 0 messages lost or handled twice, exit code 0', async () => {
    const env = {
      REDIS_URL: redis.url,
      REGISTRY_PREFIX: uniquePrefix('rollp-reg'),
      QUEUE_PREFIX: `${uniquePrefix('rollp-q')}:`,
      COUNTER_PREFIX: `${uniquePrefix('rollp-c')}:`,
    };
    const instances: ChildProcess[] = [];
    for (let i = 0; i < 3; i++) instances.push(await startInstance(env));
    const clientRegistry = new ServiceRegistry({
      adapter: redisRegistryAdapter({ connection: redis.client(), prefix: env.REGISTRY_PREFIX }),
    });
    await clientRegistry.watch('orders');
    const client = new ServiceClient({ service: 'orders', registry: clientRegistry });
    const publisherAdapter = redisStreamsQueueAdapter({
      connection: redis.client(),
      prefix: env.QUEUE_PREFIX,
    });
    const publisher = new MessageQueue({ adapter: publisherAdapter });
    const counters = redis.client();

    let stop = false;
    let calls = 0;
    const postIds: string[] = [];
    const failures: string[] = [];
    const workers = Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        calls++;
        try {
          if (i % 2 === 0) await client.get('/item');
          else {
            const id = `w${w}-${i}`;
            postIds.push(id);
            await client.post('/orders', { id }, { idempotencyKey: id });
          }
        } catch (err) {
          failures.push(`${String((err as { code?: string }).code)} ${(err as Error).message}`);
        }
      }
    });
    let published = 0;
    const publishing = (async () => {
      while (!stop) {
        await publisher.publish('jobs', { id: `m${published++}` });
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    const exits: Array<number | null> = [];
    const stopMs: number[] = [];
    await new Promise((r) => setTimeout(r, 500));
    for (let i = 0; i < instances.length; i++) {
      const child = instances[i]!;
      const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
      const t0 = performance.now();
      child.kill('SIGTERM');
      const [code] = await exited;
      stopMs.push(performance.now() - t0);
      exits.push(code);
      instances[i] = await startInstance(env);
      await new Promise((r) => setTimeout(r, 300));
    }
    stop = true;
    await Promise.all(workers);
    await publishing;

    const handledCount = async (): Promise<number[]> => {
      const keys = Array.from({ length: published }, (_, i) => `${env.COUNTER_PREFIX}handled:m${i}`);
      return (await counters.mget(...keys)).map((v) => Number(v ?? 0));
    };
    await until('every message handled', async () => (await handledCount()).every((n) => n >= 1), 20_000);
    await new Promise((r) => setTimeout(r, 300));
    const handled = await handledCount();
    const effects = (await counters.mget(...postIds.map((id) => `${env.COUNTER_PREFIX}effect:${id}`))).map(
      (v) => Number(v ?? 0),
    );
    stopMs.sort((a, b) => a - b);
    console.log(
      `rolling restart (3 processes, SIGTERM): ${calls} calls (${postIds.length} POSTs), ${failures.length} failed, ` +
        `${effects.filter((n) => n > 1).length} duplicate POST effects; ${published} messages, ` +
        `${handled.filter((n) => n > 1).length} handled twice; SIGTERM to exit p50 ${Math.round(stopMs[1]!)} ms, max ${Math.round(stopMs[2]!)} ms; exit codes ${exits.join(',')}`,
    );
    expect(failures).toEqual([]);
    expect(exits).toEqual([0, 0, 0]);
    expect(effects.every((n) => n === 1)).toBe(true);
    expect(handled.every((n) => n === 1)).toBe(true);

    await client.close();
    await clientRegistry.close();
    await publisher.close();
    await publisherAdapter.close();
    for (const child of instances) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
  }, 90_000);
});
