/**
 * payment-service: charges once per idempotency key (the order id). With a
 * failure rate it answers 503 now and then, like a flaky provider.
 */
import type { ServiceRegistry } from '../../../src/index.js';
import { OrderRejected, PaymentProvider } from '../domain.js';
import { type RunningService, startService } from './service.js';

export async function startPayment(
  registry: ServiceRegistry,
  failRate: number,
  seed: number,
): Promise<RunningService & { provider: PaymentProvider }> {
  const provider = new PaymentProvider(failRate, seed);
  const service = await startService('payment-service', registry, {
    'POST /charge': async (body: { totalCents: number }, req) => {
      const key = req.headers['idempotency-key'];
      if (typeof key !== 'string') throw new OrderRejected('an idempotency-key header is required');
      return { body: { paymentId: await provider.charge(key, body.totalCents) } };
    },
  });
  return { ...service, provider };
}
