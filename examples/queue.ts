/**
 * Order events with at-least-once delivery: order.created / order.fulfilled /
 * order.cancelled, a handler that fails once and is retried, and a poison
 * message that lands in the dead letters instead of looping forever.
 * Run: npm run example:queue  (REDIS_URL=redis://... or AMQP_URL=amqp://... for real back ends)
 */
import { MessageQueue, memoryQueueAdapter, type QueueAdapter } from 'scaleout';

async function adapter(): Promise<QueueAdapter> {
  const prefix = `example-${process.pid}.`;
  if (process.env.AMQP_URL) {
    const { amqpQueueAdapter } = await import('scaleout/amqp');
    return amqpQueueAdapter({ url: process.env.AMQP_URL, prefix });
  }
  if (process.env.REDIS_URL) {
    const { redisStreamsQueueAdapter } = await import('scaleout/redis');
    return redisStreamsQueueAdapter({ connection: process.env.REDIS_URL, prefix, sweepIntervalMs: 100 });
  }
  return memoryQueueAdapter();
}

interface Order {
  orderId: string;
  items: number;
}

const queue = new MessageQueue({ adapter: await adapter(), retryBaseMs: 20, retryMaxMs: 100 });
const seen = new Set<string>(); // consumer-side dedup on the message id
let inventoryHiccup = true;
let handled = 0;

await queue.consume<Order>(
  'order.created',
  async (order, { id, deliveryCount }) => {
    if (seen.has(id)) return;
    if (order.items <= 0) throw new RangeError(`order ${order.orderId} has no items`); // poison
    if (inventoryHiccup) {
      inventoryHiccup = false;
      throw new Error('inventory service busy');
    }
    seen.add(id);
    handled++;
    console.log(`reserved stock for ${order.orderId} (delivery ${deliveryCount})`);
    await queue.publish('order.fulfilled', { orderId: order.orderId });
  },
  { prefetch: 1, maxDeliveries: 3 },
);
await queue.consume<{ orderId: string }>('order.fulfilled', (e) => {
  handled++;
  console.log(`notified customer: ${e.orderId} fulfilled`);
});
await queue.consume<{ orderId: string; reason: string }>('order.cancelled', (e) => {
  handled++;
  console.log(`refunded ${e.orderId}: ${e.reason}`);
});
queue.on('retry', (e) => console.log(`retry ${e.topic} delivery ${e.deliveryCount} in ${e.delayMs} ms`));

const dead: string[] = [];
await queue.consumeDeadLetters('order.created', (d) => {
  dead.push(d.id);
  console.log(`dead letter after ${d.deliveries} deliveries: ${d.error.name}: ${d.error.message}`);
});

await queue.publish('order.created', { orderId: 'o-1', items: 2 });
await queue.publish('order.created', { orderId: 'o-2', items: 0 }); // poison
await queue.publish('order.cancelled', { orderId: 'o-3', reason: 'customer request' });

const deadline = Date.now() + 20_000;
while ((handled < 3 || dead.length < 1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
await queue.close();
console.log(`done: ${handled} events handled, ${dead.length} dead letter(s)`);
process.exit(handled === 3 && dead.length === 1 ? 0 : 1);
