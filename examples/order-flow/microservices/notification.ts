/** notification-service: tells the customer about every `order.created` (from the queue). */
import type { ServiceRegistry } from 'scaleout';
import { startConsumers } from '../consumers.js';
import { StockStore } from '../domain.js';
import type { Infra } from '../infra.js';
import { type RunningService, startService } from './service.js';

export async function startNotification(
  infra: Infra,
  registry: ServiceRegistry,
): Promise<RunningService & { notified: Set<string> }> {
  const { notified } = await startConsumers(infra, new StockStore(), {
    inventory: false,
    notification: true,
  });
  const service = await startService('notification-service', registry, {
    'GET /sent': async () => ({ body: { sent: notified.size } }),
  });
  return { ...service, notified };
}
