/**
 * Starts the six services on loopback, each registered in one shared
 * ServiceRegistry (memory, or Redis with REDIS_URL): three payment instances so
 * retries have somewhere to go.
 */
import { Idempotency, ServiceRegistry } from 'scaleout';
import type { Infra } from '../infra.js';
import { startGateway } from './gateway.js';
import { startInventory } from './inventory.js';
import { startNotification } from './notification.js';
import { startOrders } from './orders.js';
import { startPayment } from './payment.js';
import { startPricing } from './pricing.js';

export type Microservices = Awaited<ReturnType<typeof startMicroservices>>;

export async function startMicroservices(infra: Infra, options: { failRate?: number } = {}) {
  const registry = new ServiceRegistry({ adapter: infra.registryAdapter, slowStartMs: 0 });
  const pricing = await startPricing(infra, registry);
  const inventory = await startInventory(infra, registry);
  // One Idempotency over one store for the three payment instances: a retry sent to
  // another instance finds the charge the first one made.
  const paymentKeys = new Idempotency({ adapter: infra.idempotencyStore });
  const payments = [];
  for (const seed of [1, 2, 8]) {
    payments.push(await startPayment(registry, options.failRate ?? 0, seed, paymentKeys));
  }
  const notification = await startNotification(infra, registry);
  const orders = await startOrders(infra, registry);
  const gateway = await startGateway(infra, registry);
  const services = [gateway, orders, pricing, inventory, ...payments, notification];
  // Clients pick from the registry's local view: load it (and follow changes) before the first call.
  for (const name of new Set(services.map((s) => s.name))) await registry.watch(name);
  return {
    registry,
    gateway,
    orders,
    pricing,
    inventory,
    payments,
    paymentKeys,
    notification,
    services,
    /** Stops every service (deregistering it), then the registry. */
    async close() {
      for (const s of services.reverse()) await s.close();
      await paymentKeys.close();
      await registry.close();
    },
  };
}
