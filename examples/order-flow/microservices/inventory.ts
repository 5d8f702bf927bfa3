/**
 * inventory-service: answers "is it in stock?" over HTTP, and reserves the
 * stock of every `order.created` under a DistributedLock per sku (fencing token passed
 * to the store).
 */
import type { ServiceRegistry } from 'scaleout';
import { startConsumers } from '../consumers.js';
import { type OrderRequest, StockStore } from '../domain.js';
import type { Infra } from '../infra.js';
import { type RunningService, startService } from './service.js';

export async function startInventory(
  infra: Infra,
  registry: ServiceRegistry,
): Promise<RunningService & { stock: StockStore; reserved: Set<string> }> {
  const stock = new StockStore();
  const { reserved } = await startConsumers(infra, stock, { inventory: true, notification: false });
  const service = await startService('inventory-service', registry, {
    'POST /check': async (body: { items: OrderRequest['items'] }) => ({
      body: { inStock: stock.available(body.items) },
    }),
  });
  return { ...service, stock, reserved };
}
