/**
 * Publish + consume throughput, messages/s, each message confirmed by the
 * broker and acknowledged by a consumer:
 * - RabbitMQ: MessageQueue over amqpQueueAdapter vs raw amqplib (confirm
 *   channel publish, consumer channel with the same prefetch, ack per message)
 *   on classic and on quorum queues, on one node (the shared broker) and on a
 *   3-node cluster started for the run (both clients on its first node);
 * - Redis Streams: MessageQueue over redisStreamsQueueAdapter vs BullMQ
 *   (Queue.add + Worker), on the same local redis-server.
 * Each call publishes a batch of BATCH messages concurrently and resolves when
 * all of them were consumed.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { type Channel, type ChannelModel, type ConfirmChannel, connect } from 'amqplib';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { amqpQueueAdapter, type QueueType } from '../dist/amqp.js';
import { MessageQueue } from '../dist/index.js';
import { redisStreamsQueueAdapter } from '../dist/redis.js';
import { amqpUrl, uniqueName } from '../test/helpers/rabbitmq.js';
import { startRabbitMqCluster } from '../test/helpers/rabbitmq-cluster.js';
import { startRedisServer } from '../test/helpers/redis-server.js';
import type { BenchContext, Comparison } from './lib.js';

const BATCH = 100;
const PREFETCH = 50;
const payload = { orderId: 'o_123456', customerId: 'c_42', total: 99.9, items: [{ sku: 'A1', qty: 2 }] };

/** A counter that resolves a promise when it reaches a target. */
function batchCounter() {
  let count = 0;
  let target = Number.POSITIVE_INFINITY;
  let resolve: () => void = () => {};
  return {
    hit() {
      count++;
      if (count >= target) resolve();
    },
    wait(n: number): Promise<void> {
      return new Promise<void>((r) => {
        target = count + n;
        resolve = r;
      });
    },
  };
}

/**
 * CPU time of every RabbitMQ node on this machine (the `beam.smp`
 * processes), in µs: `utime + stime` of /proc/<pid>/stat, in clock ticks
 * of 10 ms. 0 where /proc cannot be read.
 */
function beamCpu(): () => Promise<number> {
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((pid) => {
      if (!/^\d+$/.test(pid)) return false;
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'beam.smp';
      } catch {
        return false;
      }
    });
  } catch {
    // no /proc: server CPU reads as 0
  }
  return async () => {
    let ticks = 0;
    for (const pid of pids) {
      try {
        // Fields after the command name (which is in parentheses): utime is the 12th, stime the 13th.
        const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        ticks += Number(fields[11]) + Number(fields[12]);
      } catch {
        // the process is gone
      }
    }
    return ticks * 10_000;
  };
}

/** Where an AMQP comparison runs: one broker, or a cluster (its first node is dialled first). */
interface AmqpSite {
  label: string;
  urls: readonly string[];
}

/**
 * Raw amqplib vs MessageQueue on one queue type at one site: both connect
 * to the same (first) node; the raw client declares a durable queue of the
 * same type, bound to a direct exchange, publishes persistent messages on a
 * confirm channel and acknowledges each one on a consumer channel with the
 * same prefetch.
 */
async function amqpPair(ctx: BenchContext, site: AmqpSite, queueType: QueueType): Promise<Comparison> {
  const url = site.urls[0]!;
  const rawConn: ChannelModel = await connect(url);
  const rawPub: ConfirmChannel = await rawConn.createConfirmChannel();
  const rawSub: Channel = await rawConn.createChannel();
  const rawQueue = uniqueName(`bench.raw.${queueType}`);
  await rawPub.assertQueue(rawQueue, {
    durable: true,
    arguments: queueType === 'quorum' ? { 'x-queue-type': 'quorum' } : {},
  });
  const rawExchange = uniqueName('bench.ex');
  await rawPub.assertExchange(rawExchange, 'direct', { durable: true, autoDelete: true });
  await rawPub.bindQueue(rawQueue, rawExchange, rawQueue);
  await rawSub.prefetch(PREFETCH);
  const rawCounter = batchCounter();
  await rawSub.consume(rawQueue, (msg) => {
    if (msg === null) return;
    JSON.parse(msg.content.toString('utf8'));
    rawSub.ack(msg);
    rawCounter.hit();
  });
  const rawPublish = (n: number) =>
    new Promise<void>((resolve, reject) => {
      rawPub.publish(
        rawExchange,
        rawQueue,
        Buffer.from(JSON.stringify({ ...payload, n })),
        { persistent: true, messageId: String(n), contentType: 'application/json' },
        (err) => (err ? reject(err) : resolve()),
      );
    });

  // scaleout, on the same node first
  const prefix = 'scaleout-bench.';
  const topic = uniqueName(`bench.so.${queueType}`);
  const queue = new MessageQueue({
    adapter: amqpQueueAdapter({ url: site.urls, nodeOrder: 'in-order', prefix, queueType }),
  });
  const soCounter = batchCounter();
  await queue.consume(topic, () => soCounter.hit(), { prefetch: PREFETCH, deadLetter: false });

  let seq = 0;
  const tasks = {
    [`raw amqplib (${queueType})`]: async () => {
      const done = rawCounter.wait(BATCH);
      await Promise.all(Array.from({ length: BATCH }, () => rawPublish(seq++)));
      await done;
    },
    [`MessageQueue (amqp, ${queueType})`]: async () => {
      const done = soCounter.wait(BATCH);
      await Promise.all(Array.from({ length: BATCH }, () => queue.publish(topic, { ...payload, n: seq++ })));
      await done;
    },
  };
  const comparison = await ctx.compare(
    `RabbitMQ ${site.label}, ${queueType} queues: publish with confirm + consume + ack, batches of ${BATCH}`,
    tasks,
    { opsPerCall: BATCH, timeMs: 1_500, warmupMs: 300, rounds: 9 },
  );
  // Node and RabbitMQ share the machine's cores: what the client spends per
  // message is what a faster client can give back, and CPU per message
  // moves far less than throughput on a loaded machine.
  const cpu = await ctx.cpuPerOp(
    `RabbitMQ ${site.label}, ${queueType} queues: CPU per message (publish with confirm + consume + ack), client and RabbitMQ nodes`,
    tasks,
    { serverCpuUs: beamCpu(), opsPerCall: BATCH, callsPerSample: 10, samples: 15 },
  );

  await queue.close();
  const cleanup = await rawConn.createChannel();
  cpuRows.set(comparison, cpu);
  await cleanup.deleteQueue(rawQueue);
  await cleanup.deleteQueue(`${prefix}${topic}`);
  await rawConn.close();
  return comparison;
}

/** The CPU rows of each RabbitMQ comparison, for the site's summary. */
const cpuRows = new Map<Comparison, Array<Record<string, string | number>>>();

/** Classic and quorum queues at one site, each beside raw amqplib on the same type. */
async function amqpSite(ctx: BenchContext, site: AmqpSite): Promise<void> {
  const rows: Array<Record<string, string | number>> = [];
  for (const queueType of ['classic', 'quorum'] as const) {
    const c = await amqpPair(ctx, site, queueType);
    const [raw, so] = c.tasks;
    const [rawCpu, soCpu] = cpuRows.get(c) ?? [];
    rows.push({
      site: site.label,
      'queue type': queueType,
      'raw amqplib msgs/s': raw!.opsPerSec,
      'MessageQueue msgs/s': so!.opsPerSec,
      'ratio vs raw': `${so!.ratio.toFixed(2)}x`,
      'raw client CPU µs/msg': rawCpu?.['client CPU µs'] ?? '',
      'MessageQueue client CPU µs/msg': soCpu?.['client CPU µs'] ?? '',
    });
  }
  ctx.note(`RabbitMQ ${site.label}: classic vs quorum queues`, rows);
}

async function redisPair(ctx: BenchContext): Promise<void> {
  const server = await startRedisServer();
  try {
    const queue = new MessageQueue({
      adapter: redisStreamsQueueAdapter({ connection: server.url, prefix: 'bench:so:' }),
    });
    const soCounter = batchCounter();
    await queue.consume('orders', () => soCounter.hit(), { prefetch: PREFETCH, deadLetter: false });

    const connection = { host: '127.0.0.1', port: server.port, maxRetriesPerRequest: null };
    const bullQueue = new Queue('orders', { connection, prefix: 'bench:bull' });
    const bullCounter = batchCounter();
    const workerConnection = new Redis(connection);
    const worker = new Worker(
      'orders',
      async () => {
        bullCounter.hit();
      },
      { connection: workerConnection, prefix: 'bench:bull', concurrency: PREFETCH },
    );
    await worker.waitUntilReady();

    let seq = 0;
    await ctx.compare(
      `Redis Streams vs BullMQ: add + process, batches of ${BATCH}`,
      {
        BullMQ: async () => {
          const done = bullCounter.wait(BATCH);
          await Promise.all(
            Array.from({ length: BATCH }, () =>
              bullQueue.add(
                'order',
                { ...payload, n: seq++ },
                { removeOnComplete: true, removeOnFail: true },
              ),
            ),
          );
          await done;
        },
        'MessageQueue (redis streams)': async () => {
          const done = soCounter.wait(BATCH);
          await Promise.all(
            Array.from({ length: BATCH }, () => queue.publish('orders', { ...payload, n: seq++ })),
          );
          await done;
        },
      },
      { opsPerCall: BATCH, timeMs: 1_500, warmupMs: 300, rounds: 9 },
    );
    await worker.close();
    await bullQueue.close();
    workerConnection.disconnect();
    await queue.close();
  } finally {
    await server.stop();
  }
}

/**
 * What OpenTelemetry costs per message (target: at most 2% with no SDK),
 * on the in-process adapter where a message costs least (the strictest
 * reading): telemetry off (`tracerProvider: false, meterProvider: false`)
 * vs `@opentelemetry/api` present with no SDK; then, with the SDK
 * registered globally, off vs on (in-memory exporter).
 */
async function telemetryCost(ctx: BenchContext): Promise<void> {
  const queues = {
    off: new MessageQueue({ tracerProvider: false, meterProvider: false }),
    noSdk: new MessageQueue(),
  };
  const counters = { off: batchCounter(), noSdk: batchCounter(), sdk: batchCounter() };
  await queues.off.consume('orders', () => counters.off.hit(), { prefetch: PREFETCH, deadLetter: false });
  await queues.noSdk.consume('orders', () => counters.noSdk.hit(), { prefetch: PREFETCH, deadLetter: false });
  let seq = 0;
  const batch = (queue: MessageQueue, counter: ReturnType<typeof batchCounter>) => async () => {
    const done = counter.wait(BATCH);
    await Promise.all(Array.from({ length: BATCH }, () => queue.publish('orders', { ...payload, n: seq++ })));
    await done;
  };
  await ctx.compare(
    `OpenTelemetry cost per message (memory adapter, publish + consume, batches of ${BATCH}), API present, no SDK`,
    {
      'MessageQueue, telemetry off': batch(queues.off, counters.off),
      'MessageQueue, @opentelemetry/api, no SDK': batch(queues.noSdk, counters.noSdk),
    },
    { opsPerCall: BATCH, rounds: 11 },
  );
  // CPU per message moves far less than throughput on a loaded machine.
  await ctx.cpuPerOp(
    'OpenTelemetry cost per message (memory adapter), API present, no SDK',
    {
      'MessageQueue, telemetry off': batch(queues.off, counters.off),
      'MessageQueue, @opentelemetry/api, no SDK': batch(queues.noSdk, counters.noSdk),
    },
    { serverCpuUs: async () => 0, opsPerCall: BATCH, callsPerSample: 20, samples: 41 },
  );
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const meterProvider = new MeterProvider();
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const sdk = new MessageQueue();
  await sdk.consume('orders', () => counters.sdk.hit(), { prefetch: PREFETCH, deadLetter: false });
  await ctx.compare(
    `OpenTelemetry cost per message (memory adapter, batches of ${BATCH}), SDK + in-memory exporter`,
    {
      'MessageQueue, telemetry off': batch(queues.off, counters.off),
      'MessageQueue, SDK + in-memory exporter': () => {
        exporter.reset();
        return batch(sdk, counters.sdk)();
      },
    },
    { opsPerCall: BATCH, rounds: 7 },
  );
  await ctx.cpuPerOp(
    'OpenTelemetry cost per message (memory adapter), SDK + in-memory exporter',
    {
      'MessageQueue, telemetry off': batch(queues.off, counters.off),
      'MessageQueue, SDK + in-memory exporter': () => {
        exporter.reset();
        return batch(sdk, counters.sdk)();
      },
    },
    { serverCpuUs: async () => 0, opsPerCall: BATCH, callsPerSample: 20, samples: 21 },
  );
  trace.disable();
  metrics.disable();
  propagation.disable();
  context.disable();
  await Promise.all([
    queues.off.close(),
    queues.noSdk.close(),
    sdk.close(),
    tracerProvider.shutdown(),
    meterProvider.shutdown(),
  ]);
}

export default async function (ctx: BenchContext): Promise<void> {
  // QUEUE_BENCH_ONLY=telemetry runs only the OpenTelemetry cost rows;
  // =amqp only the RabbitMQ rows (one node and the cluster); =amqp-one-node
  // only those of the shared broker.
  const only = process.env.QUEUE_BENCH_ONLY;
  if (only === 'telemetry') return telemetryCost(ctx);
  if (only === undefined) await telemetryCost(ctx);
  await amqpSite(ctx, { label: 'one node (the shared broker)', urls: [amqpUrl()] });
  if (only === 'amqp-one-node') return;
  const cluster = await startRabbitMqCluster({ size: 3 });
  try {
    await amqpSite(ctx, { label: '3-node cluster (loopback)', urls: cluster.urls });
  } finally {
    await cluster.stop();
  }
  if (only === undefined) await redisPair(ctx);
}
