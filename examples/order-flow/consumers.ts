/**
 * The two consumers of `order.created`, each its own consumer group so each
 * sees every order: inventory reserves the stock under a DistributedLock per sku (its fencing token goes with the write),
 * notification tells the customer. At-least-once delivery: both are idempotent.
 */
import type { Order, StockStore } from './domain.js';
import type { Infra } from './infra.js';

export interface Consumers {
  /** Orders whose stock is reserved. */
  reserved: Set<string>;
  /** Orders whose customer was told. */
  notified: Set<string>;
}

export async function startConsumers(
  infra: Infra,
  stock: StockStore,
  which = { inventory: true, notification: true },
): Promise<Consumers> {
  const reserved = new Set<string>();
  const notified = new Set<string>();
  if (which.inventory) {
    await infra.queue.consume<Order>(
      'order.created',
      async (order) => {
        if (reserved.has(order.orderId)) return; // a redelivery
        for (const { sku, qty } of order.items) {
          await infra.locks.withLock(`stock:${sku}`, async (lease) =>
            stock.reserve(sku, qty, lease.fencingToken),
          );
        }
        reserved.add(order.orderId);
      },
      { group: 'inventory', prefetch: 8 },
    );
  }
  if (which.notification) {
    await infra.queue.consume<Order>(
      'order.created',
      (order) => {
        notified.add(order.orderId); // a real service would send an e-mail here
      },
      { group: 'notification', prefetch: 16 },
    );
  }
  return { reserved, notified };
}
