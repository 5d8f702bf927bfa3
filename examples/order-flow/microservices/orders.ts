/**
 * orders-service: createOrder over the network. Validate, price
 * (pricing-service), check stock (inventory-service), pay (payment-service),
 * save, publish `order.created`. Every call goes through a ServiceClient that
 * finds instances in the registry, retries and breaks circuits.
 */
import { ServiceClient, type ServiceRegistry } from 'scaleout';
import { type Order, type OrderRequest, OrderStore, type Quote, validate } from '../domain.js';
import type { Infra } from '../infra.js';
import type { TraceStep } from '../monolith.js';
import { type RunningService, startService } from './service.js';

export async function startOrders(
  infra: Infra,
  registry: ServiceRegistry,
): Promise<RunningService & { store: OrderStore; clients: ServiceClient[] }> {
  const client = (service: string, options = {}) =>
    new ServiceClient({ service, registry }, { deadlineMs: 5_000, ...options });
  const pricing = client('pricing-service');
  const inventory = client('inventory-service');
  // Payments fail now and then: retry up to 4 times (to another instance), and
  // stop sending to an instance that keeps failing.
  const payment = client('payment-service', {
    retry: { maxAttempts: 4 },
    breaker: { consecutiveFailures: 2, openMs: 50, halfOpenProbes: 1 },
  });
  const store = new OrderStore();

  const service = await startService('orders-service', registry, {
    'POST /orders': async (req: OrderRequest) => {
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
      // Quotes and stock checks change nothing: the key lets the client retry them.
      const key = { idempotencyKey: req.orderId };
      const q = await timed('pricing', 'quote', () =>
        pricing.post<Quote>('/quote', { items: req.items }, key),
      );
      const { inStock } = await timed('inventory', 'check', () =>
        inventory.post<{ inStock: boolean }>('/check', { items: req.items }, key),
      );
      if (!inStock) return { status: 409, body: { error: 'out of stock' } };
      let paymentId: string;
      try {
        ({ paymentId } = await timed('payment', 'charge', () =>
          payment.post<{ paymentId: string }>('/charge', { totalCents: q.totalCents }, key),
        ));
      } catch (err) {
        // Retries are spent (or every instance's circuit is open): no order. A
        // business outcome (4xx), not a fault of this service: the gateway neither
        // retries it (one layer of retries, not one per hop) nor opens a circuit.
        return {
          status: 402,
          body: { error: `payment failed: ${(err as { code?: string }).code}: ${(err as Error).message}` },
        };
      }
      const order: Order = { ...req, totalCents: q.totalCents, paymentId };
      store.save(order);
      await timed('orders', 'publish order.created', () => infra.queue.publish('order.created', order));
      return { status: 201, body: { order, trace } };
    },
  });
  const clients = [pricing, inventory, payment];
  return {
    ...service,
    store,
    clients,
    async close() {
      await service.close();
      for (const c of clients) await c.close();
    },
  };
}
