/**
 * payment-service: one charge per idempotency key (the order id), whichever
 * instance a retry reaches. idempotencyNode keeps each charge's answer in a
 * store the instances share (memory here, Redis with REDIS_URL): a retry of
 * a charge that went through gets the same answer (`Idempotency-Replayed:
 * true`) without charging again; a 503 of the flaky provider is not kept, so
 * the retry charges. With a failure rate it answers 503 now and then.
 */
import { type Idempotency, idempotencyNode, type ServiceRegistry } from 'scaleout';
import { PaymentProvider } from '../domain.js';
import { type RunningService, startService } from './service.js';

export async function startPayment(
  registry: ServiceRegistry,
  failRate: number,
  seed: number,
  keys: Idempotency,
): Promise<RunningService & { provider: PaymentProvider }> {
  const provider = new PaymentProvider(failRate, seed);
  // A charge without a key is refused (400), as the IETF draft says for an operation that requires one.
  const guard = idempotencyNode(keys, { required: true });
  const service = await startService('payment-service', registry, {
    'POST /charge': async (body: { totalCents: number }, req, res) => {
      // Answered already: a replay of the kept charge, or a 400 / 409 / 422 problem.
      if (!(await guard(req, res, { body, route: 'POST /charge' }))) return undefined;
      const key = String(req.headers['idempotency-key']);
      return { body: { paymentId: await provider.charge(key, body.totalCents) } };
    },
  });
  return { ...service, provider };
}
