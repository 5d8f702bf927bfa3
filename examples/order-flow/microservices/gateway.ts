/**
 * api-gateway: the edge. `POST /login` opens a session and signs a JWT bound
 * to it; `POST /orders` is authorized (token valid, session alive), limited
 * to 60 orders a minute per customer (429 with Retry-After past it), and
 * forwarded to orders-service with the user id from the token.
 */
import {
  authorizeNode,
  createAuthorizer,
  createJwt,
  HttpStatusError,
  RateLimiter,
  rateLimitNode,
  ServiceClient,
  type ServiceRegistry,
  SessionStore,
} from 'scaleout';
import type { OrderRequest } from '../domain.js';
import type { Infra } from '../infra.js';
import { type RunningService, startService } from './service.js';

export async function startGateway(
  infra: Infra,
  registry: ServiceRegistry,
): Promise<RunningService & { orders: ServiceClient; limited: () => number }> {
  const sessions = new SessionStore<{ role: string }>({ adapter: infra.sessionAdapter, ttlMs: 30 * 60_000 });
  const jwt = createJwt({
    secret: 'order-flow-example-secret-32-bytes!!',
    issuer: 'order-flow',
    audience: 'api',
    denylist: infra.denylist,
  });
  const guard = authorizeNode(createAuthorizer({ jwt, sessions, bindTokensToSessions: true }));
  // Orders per customer, shared by every gateway instance when the adapter is Redis.
  const orderLimits = new RateLimiter({
    adapter: infra.rateLimitAdapter,
    name: 'orders',
    limits: { limit: 60, windowMs: 60_000 },
  });
  const limitOrders = rateLimitNode({ limiter: orderLimits, key: 'subject' });
  let limited = 0;
  orderLimits.on('denied', () => limited++);
  const orders = new ServiceClient({ service: 'orders-service', registry }, { deadlineMs: 8_000 });

  const service = await startService('api-gateway', registry, {
    'POST /login': async (body: { user: string }) => {
      const session = await sessions.create({ role: 'customer' }, { userId: body.user });
      return { body: { token: await jwt.sign({ sub: body.user, sid: session.id }) } };
    },
    'POST /orders': async (body: Omit<OrderRequest, 'userId'>, req, res) => {
      const started = performance.now();
      const who = await guard(req, res); // answers 401/403 itself
      if (!who) return undefined;
      if (!(await limitOrders(req, res, who))) return undefined; // answers 429 itself
      const authMs = performance.now() - started;
      const forwarded = performance.now();
      let result: { order: unknown; trace: unknown[] };
      try {
        result = await orders.post(
          '/orders',
          { ...body, userId: String(who.claims.sub) },
          { idempotencyKey: body.orderId },
        );
      } catch (err) {
        // A 4xx from orders-service is passed on as is (out of stock, payment failed).
        if (err instanceof HttpStatusError && err.status < 500) {
          return { status: err.status, body: err.response.data };
        }
        throw err;
      }
      const trace = [
        { service: 'gateway', step: `authorize ${who.claims.sub} (${who.source})`, ms: authMs },
        { service: 'gateway', step: 'call orders-service', ms: performance.now() - forwarded },
        ...result.trace,
      ];
      return { status: 201, body: { ...result, trace } };
    },
  });
  return {
    ...service,
    orders,
    limited: () => limited,
    async close() {
      await service.close();
      await orders.close();
      await jwt.close();
      await sessions.close();
      await orderLimits.close();
    },
  };
}
