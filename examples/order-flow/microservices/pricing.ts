/** pricing-service: quotes an order; prices come from a slow source behind DistributedCache. */
import { DistributedCache, type ServiceRegistry } from 'scaleout';
import { loadPrice, type OrderRequest, quote } from '../domain.js';
import type { Infra } from '../infra.js';
import { type RunningService, startService } from './service.js';

export async function startPricing(
  infra: Infra,
  registry: ServiceRegistry,
): Promise<RunningService & { cache: DistributedCache }> {
  const cache = new DistributedCache({ adapter: infra.cacheAdapter, defaultTtlMs: 60_000 });
  const prices = cache.namespace('price');
  const service = await startService('pricing-service', registry, {
    'POST /quote': async (body: { items: OrderRequest['items'] }) => ({
      body: await quote(body.items, (sku) => prices.getOrSet(sku, () => loadPrice(sku))),
    }),
  });
  return {
    ...service,
    cache,
    async close() {
      await service.close();
      await cache.close();
    },
  };
}
