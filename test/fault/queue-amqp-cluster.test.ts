/**
 * A 3-node RabbitMQ cluster of our own on loopback (own node names, ports
 * and data dirs, joined with rabbitmqctl), quorum queues, and nodes killed
 * with SIGKILL under a running publisher and consumer:
 *
 * 1. The node the publisher and the consumer are connected to, which also
 *    leads the queue, is killed: no confirmed message is lost, both fail
 *    over to another node, delivery counts stay exact (the broker's count,
 *    kept in the Raft log across the leader change) and a poison message
 *    is dead-lettered exactly once.
 * 2. With 2 of 3 nodes down the queue has no majority: publishes fail with
 *    typed errors and none is confirmed; once a node is back, publishing
 *    and consuming resume and every confirmed message arrives.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AmqpQueueAdapter, amqpQueueAdapter } from '../../src/amqp.js';
import { type DeadLetter, isScaleoutError, MessageQueue, type QueueDelivery } from '../../src/index.js';
import { type RabbitMqCluster, startRabbitMqCluster } from '../helpers/rabbitmq-cluster.js';
import { sleep, until } from '../helpers/wait.js';

/** Publishes with four publishers until stopped; records the ids whose publish resolved. */
function publishLoop(queue: MessageQueue, topic: string) {
  const confirmed = new Set<string>();
  const failures: unknown[] = [];
  let stop = false;
  let seq = 0;
  const worker = async () => {
    while (!stop) {
      const n = seq++;
      try {
        confirmed.add(await queue.publish(topic, { n }, { messageId: `m-${n}` }));
      } catch (err) {
        failures.push(err);
        await sleep(20);
      }
    }
  };
  const done = Promise.all([worker(), worker(), worker(), worker()]);
  return {
    confirmed,
    failures,
    async stop() {
      stop = true;
      await done;
    },
  };
}

/** Which node (index) an adapter is connected to, from its redacted URL. */
function nodeOf(cluster: RabbitMqCluster, adapter: AmqpQueueAdapter): number {
  const where = adapter.broker;
  return cluster.nodes.findIndex((n) => where?.endsWith(`127.0.0.1:${n.port}`));
}

describe('RabbitMQ cluster (3 nodes), quorum queues, nodes killed with SIGKILL', () => {
  let cluster: RabbitMqCluster;
  const logs: string[] = [];
  const logger = {
    info: (m: string, f?: Record<string, unknown>) => logs.push(`${m} ${JSON.stringify(f)}`),
    warn: (m: string, f?: Record<string, unknown>) => logs.push(`${m} ${JSON.stringify(f)}`),
  };
  const adapters: AmqpQueueAdapter[] = [];
  const open = (extra: Partial<Parameters<typeof amqpQueueAdapter>[0]> = {}) => {
    const adapter = amqpQueueAdapter({
      url: cluster.urls,
      nodeOrder: 'in-order',
      reconnectBaseMs: 50,
      reconnectMaxMs: 500,
      connectTimeoutMs: 2_000,
      logger,
      ...extra,
    });
    adapters.push(adapter);
    return adapter;
  };
  const queues: MessageQueue[] = [];
  const topic = 'orders';

  beforeAll(async () => {
    cluster = await startRabbitMqCluster({ size: 3 });
  }, 120_000);
  afterAll(async () => {
    for (const q of queues) await q.close().catch(() => {});
    for (const a of adapters) await a.close().catch(() => {});
    await cluster?.stop();
  }, 60_000);

  // Shared by the two phases: what was confirmed and what was consumed.
  let publisher: MessageQueue;
  const received = new Set<string>();
  const confirmed = new Set<string>();

  it('the node the publisher and consumer use (the queue leader) dies: 0 confirmed lost, both fail over, counts and dead letters exact', async () => {
    const pub = open();
    const con = open({ publishTimeoutMs: 60_000 });
    const raw = open();
    publisher = new MessageQueue({ adapter: pub });
    const consumer = new MessageQueue({ adapter: con, retryBaseMs: 5, retryMaxMs: 10 });
    queues.push(publisher, consumer);

    // Declared through node 1: the quorum queues' leader is node 1 (client-local placement).
    await publisher.publish(topic, { warmUp: true }, { messageId: 'warm-up' });
    expect(nodeOf(cluster, pub)).toBe(0);
    const leaders = await cluster.nodes[1]!.ctl(
      'list_queues',
      'name',
      'type',
      'leader',
      '--formatter',
      'json',
    );
    const orders = (JSON.parse(leaders) as Array<{ name: string; type: string; leader: string }>).find(
      (q) => q.name === topic,
    );
    expect(orders).toMatchObject({ type: 'quorum', leader: cluster.nodes[0]!.nodeName });

    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const seen = new Map<string, number[]>();
    const dead: DeadLetter[] = [];
    await consumer.consumeDeadLetters(topic, (d) => void dead.push(d));
    await consumer.consume(
      topic,
      async (value, ctx) => {
        const counts = seen.get(ctx.id) ?? [];
        counts.push(ctx.deliveryCount);
        seen.set(ctx.id, counts);
        const kind = (value as { kind?: string }).kind;
        // Held (unsettled) while its node is killed.
        if (kind === 'held' && ctx.deliveryCount === 1) await gate;
        if (kind === 'poison') {
          if (ctx.deliveryCount === 2) await gate;
          throw new Error('poison');
        }
        received.add(ctx.id);
      },
      { prefetch: 20, maxDeliveries: 3 },
    );
    expect(nodeOf(cluster, con)).toBe(0);

    // A message returned once before the kill, and held by a raw consumer when it happens.
    const counted: QueueDelivery[] = [];
    await publisher.publish('counted', { n: 1 }, { messageId: 'counted-1' });
    const rawOptions = { group: 'default', prefetch: 1, deadLetterTopic: undefined };
    const first = await raw.consume('counted', (d) => void counted.push(d), rawOptions);
    await until('the first delivery of counted-1', () => counted.length === 1);
    await first.unsubscribe(); // unsettled: the broker takes it back (a return, counted)
    await raw.consume('counted', (d) => void counted.push(d), rawOptions);
    await until('the second delivery of counted-1', () => counted.length === 2);

    await publisher.publish(topic, { kind: 'held' }, { messageId: 'held' });
    await publisher.publish(topic, { kind: 'poison' }, { messageId: 'poison' });
    await until(
      'held and poison in flight',
      () => seen.get('held')?.length === 1 && seen.get('poison')?.length === 2,
    );

    const loop = publishLoop(publisher, topic);
    await until('confirmed publishes before the kill', () => loop.confirmed.size >= 200, 30_000);
    await cluster.nodes[0]!.kill();
    const atKill = loop.confirmed.size;
    const killedAt = Date.now();
    await until(
      'publishes confirmed through another node',
      () => loop.confirmed.size >= atKill + 200,
      40_000,
    );
    const failoverMs = Date.now() - killedAt;
    await loop.stop();
    for (const id of loop.confirmed) confirmed.add(id);

    // Consumers resumed through another node.
    await until(
      'every confirmed message consumed',
      () => [...confirmed].every((id) => received.has(id)),
      40_000,
    );
    expect(nodeOf(cluster, pub)).toBeGreaterThan(0);
    expect(nodeOf(cluster, con)).toBeGreaterThan(0);
    expect(pub.reconnects).toBeGreaterThanOrEqual(1);
    expect(con.reconnects).toBeGreaterThanOrEqual(1);

    // Exact counts: the held message came back once; the raw consumer's twice (one return before, one by the kill).
    await until('the held message again', () => seen.get('held')?.length === 2);
    await until('counted-1 again', () => counted.length === 3);
    expect(counted.map((d) => d.deliveryCount)).toEqual([1, 2, 3]);
    await counted[2]!.ack();
    // The poison message: delivery 2 was in flight at the kill; delivery 3 failed and was dead-lettered.
    await until('the poison dead letter', () => dead.length === 1);
    release(); // the stale handlers finish now, on dead channels: no ack, no copy
    await sleep(1_000);
    expect(seen.get('held')).toEqual([1, 2]);
    expect(seen.get('poison')).toEqual([1, 2, 3]);
    expect(dead.map((d) => [d.id, d.reason, d.deliveries])).toEqual([['poison', 'handler-error', 3]]);
    expect(atKill).toBeGreaterThanOrEqual(200);
    expect(logs.join('\n')).not.toContain('guest:guest');
    console.log(
      `cluster: ${confirmed.size} confirmed (${atKill} before the kill), 0 lost; 200 more confirmed ${failoverMs} ms after the kill; ` +
        `publish failures ${loop.failures.length}; counts held=${seen.get('held')} poison=${seen.get('poison')} counted=${counted.map((d) => d.deliveryCount)}`,
    );
  }, 120_000);

  it('2 of 3 nodes down: publishes fail typed and none is confirmed; a node back, everything confirmed arrives', async () => {
    const survivor = cluster.nodes[2]!;
    await cluster.nodes[1]!.kill();
    // A publisher with a short timeout, connected to the last node.
    const strict = new MessageQueue({ adapter: open({ publishTimeoutMs: 2_000, maxBufferedPublishes: 20 }) });
    queues.push(strict);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => strict.publish(topic, { i }, { messageId: `minority-${i}` })),
    );
    const resolved = outcomes.filter((o) => o.status === 'fulfilled');
    expect(resolved, 'a publish the cluster could not accept was confirmed').toEqual([]);
    for (const o of outcomes) {
      const err = (o as PromiseRejectedResult).reason;
      expect(
        ['ERR_TIMEOUT', 'ERR_PUBLISH_REJECTED', 'ERR_CONNECTION', 'ERR_QUEUE_BUFFER_FULL'].some((code) =>
          isScaleoutError(err, code as never),
        ),
        String(err),
      ).toBe(true);
      expect(String((err as Error).message)).not.toContain('guest:guest');
    }
    expect(survivor.running).toBe(true);
    const codes = outcomes.map((o) => (o as PromiseRejectedResult).reason?.code);
    console.log(
      `cluster, 2 of 3 down: ${resolved.length} of ${outcomes.length} publishes confirmed; errors ${codes.join(',')}`,
    );

    // A majority again: the node killed first comes back.
    await cluster.nodes[0]!.restart();
    const after = await publisher.publish(topic, { after: true }, { messageId: 'after-recovery' });
    confirmed.add(after);
    await until(
      'every confirmed message consumed',
      () => [...confirmed].every((id) => received.has(id)),
      60_000,
    );
  }, 120_000);
});
