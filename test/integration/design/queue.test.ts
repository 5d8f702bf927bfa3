/**
 * The design's code (../shared/seed, "Message Queues and Event-Driven
 * Architecture"): its OrderProcessor (producer) and InventoryService
 * (consumer with prefetch(1), ack, nack-requeue), run against the shared
 * RabbitMQ on loopback, both as the design wrote them (raw amqplib) and in
 * their scaleout form from docs/queue.md ("From the design's code"), which
 * also runs on Redis Streams. Changes to the design's classes for the test:
 *
 * - queue names go through `Q()`, a unique prefix on the shared broker
 *   (the scaleout forms get the same through the adapter's `prefix`);
 * - their `/* ... *\/` database stubs are filled with an in-memory table;
 * - `console` is a local log (the library never writes to the console).
 *
 * The scaleout form changes the construction (one MessageQueue instead of
 * connect + createChannel + assertQueue), `sendToQueue(name,
 * Buffer.from(JSON.stringify(x)), { persistent: true })` into
 * `publish(name, x)` and the consume callback into a handler (resolve:
 * ack, throw: retry with backoff, then the dead letters).
 */
import { randomBytes } from 'node:crypto';
import * as amqp from 'amqplib';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { amqpQueueAdapter } from '../../../src/amqp.js';
import { type DeadLetter, MessageQueue, type QueueAdapter, QueueMismatchError } from '../../../src/index.js';
import { redisStreamsQueueAdapter } from '../../../src/redis.js';
import { amqpUrl } from '../../helpers/rabbitmq.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';
import { until } from '../../helpers/wait.js';

// ---- test plumbing ------------------------------------------------------------

let P = '';
/** The design's queue names, under this test's prefix on the shared broker. */
const Q = (name: string) => `${P}${name}`;
const logs: string[] = [];
const console = {
  log: (...args: unknown[]) => void logs.push(args.map(String).join(' ')),
  error: (...args: unknown[]) => void logs.push(args.map(String).join(' ')),
};
process.env.RABBITMQ_URL = amqpUrl();

interface Order {
  id: string;
  items: Array<{ id: string; quantity: number }>;
  reason?: string;
}
/** The database behind the design's stubs. */
const db = { orders: new Map<string, Order>(), stock: new Map<string, number>() };
const failOnce = new Set<string>(); // item ids whose first stock update fails

// ---- the design's classes, as written ------------------------------------------

// Producer: Sending messages to a queue
class OrderProcessor {
  connection: Promise<amqp.ChannelModel>;
  channel: any;
  constructor() {
    this.connection = amqp.connect(process.env.RABBITMQ_URL!);
    this.channel = null;
    this.setup();
  }

  async setup() {
    const connection = await this.connection;
    this.channel = await connection.createChannel();

    // Ensure queues exist
    await this.channel.assertQueue(Q('order.created'), { durable: true });
    await this.channel.assertQueue(Q('order.fulfilled'), { durable: true });
    await this.channel.assertQueue(Q('order.cancelled'), { durable: true });
  }

  async createOrder(orderData: any) {
    // Process order creation logic
    const order = await this.saveOrderToDatabase(orderData);

    // Publish event to queue
    await this.channel.sendToQueue(Q('order.created'), Buffer.from(JSON.stringify(order)), {
      persistent: true,
    });

    return order;
  }

  // Database methods
  async saveOrderToDatabase(orderData: any) {
    const order = { id: `o-${randomBytes(3).toString('hex')}`, ...orderData };
    db.orders.set(order.id, order);
    return order;
  }
}

// Consumer: Processing messages from a queue
class InventoryService {
  connection: Promise<amqp.ChannelModel>;
  channel: any;
  constructor() {
    this.connection = amqp.connect(process.env.RABBITMQ_URL!);
    this.channel = null;
    this.setup();
  }

  async setup() {
    const connection = await this.connection;
    this.channel = await connection.createChannel();

    // Ensure queue exists
    await this.channel.assertQueue(Q('order.created'), { durable: true });

    // Set prefetch to limit concurrent processing
    await this.channel.prefetch(1);

    // Start consuming messages
    await this.channel.consume(Q('order.created'), async (msg: any) => {
      if (!msg) return;

      try {
        const order = JSON.parse(msg.content.toString());
        console.log(`Processing inventory for order ${order.id}`);

        // Update inventory
        await this.updateInventory(order.items);

        // Acknowledge message (remove from queue)
        this.channel.ack(msg);
      } catch (error) {
        console.error('Error processing order:', error);

        // Reject message and put it back in the queue
        this.channel.nack(msg, false, true);
      }
    });
  }

  async updateInventory(items: any) {
    // Logic to update inventory levels
    for (const item of items) {
      await this.reduceItemStock(item.id, item.quantity);
    }
  }

  async reduceItemStock(itemId: string, quantity: number) {
    // Database operation
    if (failOnce.delete(itemId)) throw new Error(`stock service busy for ${itemId}`);
    db.stock.set(itemId, (db.stock.get(itemId) ?? 0) - quantity);
  }
}

// ---- their scaleout form (docs/queue.md), the database stubs filled as above ----

class ScaleoutOrderProcessor {
  constructor(private readonly queue: MessageQueue) {}

  async createOrder(orderData: Omit<Order, 'id'>): Promise<Order> {
    const order = await this.saveOrderToDatabase(orderData);
    await this.queue.publish('order.created', order); // persistent; resolves on the broker's confirm
    return order;
  }

  async fulfillOrder(orderId: string): Promise<Order> {
    const order = await this.markOrderAsFulfilled(orderId);
    await this.queue.publish('order.fulfilled', order);
    return order;
  }

  async cancelOrder(orderId: string, reason: string): Promise<Order> {
    const order = await this.markOrderAsCancelled(orderId, reason);
    await this.queue.publish('order.cancelled', { ...order, reason });
    return order;
  }

  async saveOrderToDatabase(orderData: Omit<Order, 'id'>): Promise<Order> {
    const order = { id: `o-${randomBytes(3).toString('hex')}`, ...orderData };
    db.orders.set(order.id, order);
    return order;
  }
  async markOrderAsFulfilled(orderId: string): Promise<Order> {
    return db.orders.get(orderId)!;
  }
  async markOrderAsCancelled(orderId: string, reason: string): Promise<Order> {
    return { ...db.orders.get(orderId)!, reason };
  }
}

class ScaleoutInventoryService {
  constructor(private readonly queue: MessageQueue) {}

  async setup(): Promise<void> {
    await this.queue.consume<Order>(
      'order.created',
      async (order) => {
        await this.updateInventory(order.items); // resolve: ack; throw: retried with backoff
      },
      { prefetch: 1 },
    );
  }

  async updateInventory(items: Order['items']): Promise<void> {
    for (const item of items) await this.reduceItemStock(item.id, item.quantity);
  }

  async reduceItemStock(itemId: string, quantity: number): Promise<void> {
    if (failOnce.delete(itemId)) throw new Error(`stock service busy for ${itemId}`);
    db.stock.set(itemId, (db.stock.get(itemId) ?? 0) - quantity);
  }
}

// ---- runs ---------------------------------------------------------------------

const opened: Array<{ close(): Promise<unknown> }> = [];
const rawConnections: Array<Promise<amqp.ChannelModel>> = [];
let prefixes: string[] = [];

function newPrefix(): string {
  P = `i16-queue.design.${randomBytes(5).toString('hex')}.`;
  prefixes.push(P);
  return P;
}

function scaleoutQueue(adapter: QueueAdapter): MessageQueue {
  const queue = new MessageQueue({ adapter, retryBaseMs: 5, retryMaxMs: 20 });
  // The queue closes only adapters it created: this one is the test's.
  opened.push(queue, adapter);
  return queue;
}

const amqpQueue = (options: { adoptExistingQueues?: boolean } = {}) =>
  scaleoutQueue(amqpQueueAdapter({ url: process.env.RABBITMQ_URL!, prefix: P, ...options }));

afterEach(async () => {
  for (const o of opened.splice(0)) await o.close().catch(() => {});
  for (const c of rawConnections.splice(0)) await (await c).close().catch(() => {});
  const connection = await amqp.connect(amqpUrl());
  connection.on('error', () => {});
  for (const prefix of prefixes) {
    const names = ['order.created', 'order.fulfilled', 'order.cancelled'].flatMap((n) => [n, `${n}.dead`]);
    for (const [kind, name] of [
      ...names.map((n) => ['queue', `${prefix}${n}`] as const),
      ['exchange', `${prefix}scaleout.topics`] as const,
      ['exchange', `${prefix}scaleout.dead-letter`] as const,
    ]) {
      const ch = await connection.createChannel();
      ch.on('error', () => {});
      await (kind === 'queue' ? ch.deleteQueue(name) : ch.deleteExchange(name)).catch(() => {});
      await ch.close().catch(() => {});
    }
  }
  await connection.close();
  prefixes = [];
  db.orders.clear();
  db.stock.clear();
  failOnce.clear();
});

/** The scaleout form end to end: orders reserved (one retried), fulfilled and cancelled events delivered. */
async function runScaleoutForm(queue: MessageQueue): Promise<void> {
  const inventory = new ScaleoutInventoryService(queue);
  await inventory.setup();
  const fulfilled: Order[] = [];
  const cancelled: Order[] = [];
  await queue.consume<Order>('order.fulfilled', (o) => void fulfilled.push(o));
  await queue.consume<Order>('order.cancelled', (o) => void cancelled.push(o));
  const processor = new ScaleoutOrderProcessor(queue);
  failOnce.add('sku-2');
  const a = await processor.createOrder({ items: [{ id: 'sku-1', quantity: 2 }] });
  const b = await processor.createOrder({ items: [{ id: 'sku-2', quantity: 1 }] });
  await processor.fulfillOrder(a.id);
  await processor.cancelOrder(b.id, 'customer request');
  await until(
    'stock reserved for both orders',
    () => db.stock.get('sku-1') === -2 && db.stock.get('sku-2') === -1,
  );
  await until('fulfilled and cancelled events', () => fulfilled.length === 1 && cancelled.length === 1);
  expect(fulfilled[0]!.id).toBe(a.id);
  expect(cancelled[0]).toMatchObject({ id: b.id, reason: 'customer request' });
  expect(failOnce.size).toBe(0); // the busy stock service was retried, not skipped
}

describe("the design's queue code", () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
    return () => redis.stop();
  });

  it('scaleout form on RabbitMQ: publish, prefetch(1) consumer, a failure retried', async () => {
    newPrefix();
    await runScaleoutForm(amqpQueue());
  }, 60_000);

  it('scaleout form on Redis Streams: the same classes, another adapter', async () => {
    newPrefix();
    await runScaleoutForm(
      scaleoutQueue(
        redisStreamsQueueAdapter({
          connection: redis.url,
          prefix: `t:${P}`,
          sweepIntervalMs: 50,
          blockMs: 50,
        }),
      ),
    );
  }, 60_000);

  it("the design's raw assertQueue ran first: QueueMismatchError naming the fix; adopted, scaleout consumes the design's messages and its own", async () => {
    newPrefix();
    const designProducer = new OrderProcessor();
    rawConnections.push(designProducer.connection);
    await until('the design producer set up', () => designProducer.channel !== null);
    await until('its queues declared', async () => {
      const ch = await (await designProducer.connection).createChannel();
      ch.on('error', () => {});
      const ok = await ch.checkQueue(Q('order.cancelled')).then(
        () => true,
        () => false,
      );
      await ch.close().catch(() => {});
      return ok;
    });

    // Without the option: a typed error that says what to do.
    const strict = new ScaleoutInventoryService(amqpQueue());
    const err = await strict.setup().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueueMismatchError);
    expect((err as QueueMismatchError).queue).toBe(Q('order.created'));
    expect((err as Error).message).toMatch(/x-dead-letter-exchange/);
    expect((err as Error).message).toMatch(/adoptExistingQueues: true/);

    // Adopted: the design's producer and scaleout's publish into the same queue.
    const queue = amqpQueue({ adoptExistingQueues: true });
    const ids: string[] = [];
    queue.on('error', (e) => logs.push(`error ${String(e.error)}`));
    await queue.consume<Order>(
      'order.created',
      async (order, ctx) => {
        ids.push(ctx.id);
        await new ScaleoutInventoryService(queue).updateInventory(order.items);
      },
      { prefetch: 1 },
    );
    await designProducer.createOrder({ items: [{ id: 'sku-raw', quantity: 3 }] });
    await designProducer.createOrder({ items: [{ id: 'sku-raw', quantity: 3 }] });
    await new ScaleoutOrderProcessor(queue).createOrder({ items: [{ id: 'sku-new', quantity: 1 }] });
    await until('all three orders', () => db.stock.get('sku-raw') === -6 && db.stock.get('sku-new') === -1);
    // The design's messages carry no message_id: each got its own, stable one.
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(id).not.toBe('');
    // A poison message is dead-lettered, not requeued forever as the design's nack would.
    const dead: DeadLetter[] = [];
    await queue.consumeDeadLetters('order.created', (d) => void dead.push(d));
    await designProducer.channel.sendToQueue(Q('order.created'), Buffer.from('{"id":"broken'), {
      persistent: true,
    });
    await until('the unparseable message in the dead letters', () => dead.length === 1);
    expect(dead[0]).toMatchObject({ body: '{"id":"broken', reason: 'unparseable' });
  }, 60_000);

  it("the design's raw InventoryService consumes what scaleout's OrderProcessor publishes to the adopted queue", async () => {
    newPrefix();
    const designConsumer = new InventoryService();
    rawConnections.push(designConsumer.connection);
    await until('the design consumer set up', () => designConsumer.channel !== null);
    const queue = amqpQueue({ adoptExistingQueues: true });
    failOnce.add('sku-9'); // the design's nack(msg, false, true) puts it back; it succeeds next time
    const order = await new ScaleoutOrderProcessor(queue).createOrder({
      items: [{ id: 'sku-9', quantity: 4 }],
    });
    await until('the design consumer reserved the stock', () => db.stock.get('sku-9') === -4);
    expect(logs).toContain(`Processing inventory for order ${order.id}`);
    // Once scaleout declared a queue, the design's assertQueue on it gets the 406 (docs/queue.md).
    newPrefix();
    await new ScaleoutInventoryService(amqpQueue()).setup();
    const connection = await amqp.connect(amqpUrl());
    rawConnections.push(Promise.resolve(connection));
    const ch = await connection.createChannel();
    ch.on('error', () => {});
    const refused = await ch.assertQueue(Q('order.created'), { durable: true }).catch((e: unknown) => e);
    expect((refused as { code?: number }).code).toBe(406);
  }, 60_000);
});
