/**
 * The order flow as one process: createOrder calls pricing, inventory and
 * payment as functions, saves the order and publishes `order.created`; an
 * inventory consumer reserves stock under a lock and a notification consumer
 * tells the customer. Same logic as the microservices, minus the network.
 * Run alone: node --import tsx examples/order-flow/monolith.ts
 */
import { pathToFileURL } from 'node:url';
import { DistributedCache } from 'scaleout';
import { startConsumers } from './consumers.js';
import {
  loadPrice,
  makeOrders,
  type Order,
  type OrderRequest,
  OrderStore,
  PaymentProvider,
  quote,
  StockStore,
  validate,
} from './domain.js';
import { createInfra, type Infra } from './infra.js';

/** One step of an order: who did what, and how long it took (ms). */
export interface TraceStep {
  service: string;
  step: string;
  ms: number;
}

export interface Monolith {
  createOrder(req: OrderRequest): Promise<{ order: Order; trace: TraceStep[] }>;
  orders: OrderStore;
  stock: StockStore;
  notified: Set<string>;
  close(): Promise<void>;
}

export async function startMonolith(infra: Infra, options: { failRate?: number } = {}): Promise<Monolith> {
  const prices = new DistributedCache({ adapter: infra.cacheAdapter, defaultTtlMs: 60_000 }).namespace(
    'price',
  );
  const stock = new StockStore();
  const payments = new PaymentProvider(options.failRate ?? 0);
  const orders = new OrderStore();
  const consumers = await startConsumers(infra, stock);

  async function createOrder(req: OrderRequest) {
    const trace: TraceStep[] = [];
    const timed = async <T>(service: string, step: string, fn: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      try {
        return await fn();
      } finally {
        trace.push({ service, step, ms: performance.now() - started });
      }
    };
    validate(req);
    const q = await timed('pricing', 'quote', () =>
      quote(req.items, (sku) => prices.getOrSet(sku, () => loadPrice(sku))),
    );
    const inStock = await timed('inventory', 'check', async () => stock.available(req.items));
    if (!inStock) throw new Error(`order ${req.orderId}: out of stock`);
    // A monolith retries its own flaky call; the microservices use ServiceClient for this.
    const paymentId = await timed('payment', 'charge', async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await payments.charge(req.orderId, q.totalCents);
        } catch (err) {
          if (attempt >= 3) throw err;
        }
      }
    });
    const order: Order = { ...req, totalCents: q.totalCents, paymentId };
    orders.save(order);
    await timed('orders', 'publish order.created', () => infra.queue.publish('order.created', order));
    return { order, trace };
  }

  return {
    createOrder,
    orders,
    stock,
    notified: consumers.notified,
    async close() {
      await prices.close();
    },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const infra = await createInfra();
  const app = await startMonolith(infra);
  for (const req of makeOrders(5)) {
    const { order, trace } = await app.createOrder(req);
    const steps = trace.map((t) => `${t.service}.${t.step} ${t.ms.toFixed(2)} ms`).join(', ');
    console.log(`${order.orderId}: ${order.totalCents} cents; ${steps}`);
  }
  while (app.notified.size < 5) await new Promise((r) => setTimeout(r, 10));
  console.log(
    `saved ${app.orders.orders.size} orders, reserved ${app.stock.reserved} items, notified ${app.notified.size}`,
  );
  await app.close();
  await infra.close();
}
