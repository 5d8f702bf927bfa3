/**
 * The design's code (../shared/seed: "Microservices: Network calls" and
 * "Service Discovery and Load Balancing"): the microservices OrderService
 * and the callers of the design's two ServiceClient classes, run on
 * scaleout's ServiceClient against real HTTP services on loopback
 * (pricing, inventory, payment, notification as node:http servers),
 * changed only as docs/client.md ("From the design's code") says:
 *
 * - the design's ServiceClient classes are replaced by scaleout's import;
 * - construction: `new ServiceClient('inventory-service')` becomes
 *   `new ServiceClient({ baseUrl: process.env['INVENTORY-SERVICE_URL'] })`
 *   (the variable the design read), and `new ServiceClient(registry,
 *   'inventory-service')` becomes `new ServiceClient({ service:
 *   'inventory-service', registry })`; the design's forms fail loudly with
 *   that fix in the message;
 * - the first design's `get(path, params)` is `get(path, { params })`;
 *   passing params where the config goes fails loudly with the fix;
 * - the second design's per-call `options.retries` is the client's
 *   `retry: { maxAttempts }`; a per-call `retries` fails loudly with the fix.
 *
 * `get`, `post` and `request(method, path, options)` keep their meaning:
 * they resolve to `response.data`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
// The import is the first change to the design's code.
import {
  isScaleoutError,
  memoryRegistryAdapter,
  ServiceClient,
  ServiceRegistry,
} from '../../../src/index.js';

// ---- the four services, tiny node:http servers on loopback ----

interface Received {
  path: string;
  method: string;
  body: unknown;
  query: string;
}

interface Service {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

type Route = (body: Record<string, unknown>, query: URLSearchParams) => { status?: number; body: unknown };

async function service(routes: Record<string, Route>): Promise<Service> {
  const received: Received[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      text += chunk;
    });
    req.on('end', () => {
      const [path = '', query = ''] = (req.url ?? '').split('?');
      const body = text === '' ? undefined : JSON.parse(text);
      received.push({ path, method: req.method ?? '', body, query });
      const route = routes[`${req.method} ${path}`];
      const answer =
        route === undefined
          ? { status: 404, body: { error: 'no route' } }
          : route(body ?? {}, new URLSearchParams(query));
      res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface Item {
  sku: string;
  qty: number;
}

const PRICES: Record<string, number> = { bolt: 0.25, nut: 0.1, gear: 12 };
const stock = new Map<string, number>();

let pricing: Service;
let inventory: Service;
let payment: Service;
let notification: Service;

beforeAll(async () => {
  pricing = await service({
    'POST /calculate': (body) => {
      const items = body.items as Item[];
      const subtotal = items.reduce((sum, i) => sum + (PRICES[i.sku] ?? 0) * i.qty, 0);
      const discount = (body.promotions as string[] | undefined)?.includes('TENOFF') ? subtotal * 0.1 : 0;
      return { body: { subtotal, discount, total: Math.round((subtotal - discount) * 100) / 100 } };
    },
  });
  inventory = await service({
    'POST /check': (body) => ({
      body: { available: (body.items as Item[]).every((i) => (stock.get(i.sku) ?? 0) >= i.qty) },
    }),
    'POST /update': (body) => {
      for (const i of body.items as Item[]) stock.set(i.sku, (stock.get(i.sku) ?? 0) - i.qty);
      return { body: { updated: true, orderId: body.orderId } };
    },
    'GET /stock': (_body, query) => ({
      body: { sku: query.get('sku'), stock: stock.get(query.get('sku') ?? '') ?? 0 },
    }),
  });
  payment = await service({
    'POST /process': (body) => ({
      body: { id: `pay_${payment.received.length}`, status: 'captured', amount: body.amount },
    }),
  });
  notification = await service({ 'POST /send': () => ({ body: { sent: true } }) });
  // Where the design's first ServiceClient looked its services up.
  process.env['INVENTORY-SERVICE_URL'] = inventory.url;
  process.env['PRICING-SERVICE_URL'] = pricing.url;
  process.env['PAYMENT-SERVICE_URL'] = payment.url;
  process.env['NOTIFICATION-SERVICE_URL'] = notification.url;
});

beforeEach(() => {
  stock.clear();
  stock.set('bolt', 100);
  stock.set('nut', 100);
  stock.set('gear', 1);
  for (const s of [pricing, inventory, payment, notification]) s.received.length = 0;
});

afterAll(async () => {
  for (const s of [pricing, inventory, payment, notification]) await s.close();
  for (const name of ['INVENTORY', 'PRICING', 'PAYMENT', 'NOTIFICATION'])
    delete process.env[`${name}-SERVICE_URL`];
});

// ---- the design's OrderService (microservices), as written but for construction ----

interface OrderData {
  customerId: string;
  items: Item[];
  promotions?: string[];
  paymentInfo: { card: string };
}

class OrderService {
  inventoryServiceClient: ServiceClient;
  pricingServiceClient: ServiceClient;
  paymentServiceClient: ServiceClient;
  notificationServiceClient: ServiceClient;
  readonly saved: Array<Record<string, unknown>> = [];

  constructor(clientFor: (serviceName: string) => ServiceClient) {
    // Construction changed as docs/client.md says: the design wrote
    // new ServiceClient('inventory-service') and so on.
    this.inventoryServiceClient = clientFor('inventory-service');
    this.pricingServiceClient = clientFor('pricing-service');
    this.paymentServiceClient = clientFor('payment-service');
    this.notificationServiceClient = clientFor('notification-service');
  }

  async createOrder(orderData: OrderData): Promise<any> {
    // Validate order locally
    const validOrder = this.validateOrder(orderData);

    // Calculate pricing (remote call)
    const pricing: any = await this.pricingServiceClient.post('/calculate', {
      items: validOrder.items,
      promotions: validOrder.promotions,
    });

    // Check inventory (remote call)
    const inventory: any = await this.inventoryServiceClient.post('/check', {
      items: validOrder.items,
    });

    if (!inventory.available) {
      throw new Error('Some items are out of stock');
    }

    // Process payment (remote call)
    const payment = await this.paymentServiceClient.post('/process', {
      amount: pricing.total,
      paymentInfo: orderData.paymentInfo,
    });

    // Create order in database (local)
    const order = await this.saveOrder({
      ...validOrder,
      pricing,
      payment,
      status: 'paid',
    });

    // Update inventory (remote call)
    await this.inventoryServiceClient.post('/update', {
      orderId: order.id,
      items: order.items,
    });

    // Send notifications (remote call)
    await this.notificationServiceClient.post('/send', {
      type: 'new_order',
      order: order,
    });

    return order;
  }

  // The design leaves these out ("implemented locally").
  validateOrder(orderData: OrderData): OrderData {
    if (!Array.isArray(orderData.items) || orderData.items.length === 0)
      throw new Error('an order needs items');
    return { ...orderData, items: orderData.items.map((i) => ({ sku: i.sku, qty: i.qty })) };
  }

  async saveOrder(order: Record<string, any>): Promise<any> {
    const saved = { ...order, id: `order_${this.saved.length + 1}` };
    this.saved.push(saved);
    return saved;
  }

  async close(): Promise<void> {
    for (const c of [
      this.inventoryServiceClient,
      this.pricingServiceClient,
      this.paymentServiceClient,
      this.notificationServiceClient,
    ]) {
      await c.close();
    }
  }
}

const ORDER: OrderData = {
  customerId: 'c_1',
  items: [
    { sku: 'bolt', qty: 8 },
    { sku: 'nut', qty: 8 },
  ],
  promotions: ['TENOFF'],
  paymentInfo: { card: 'tok_visa' },
};

/** The first design's construction, as docs/client.md changes it. */
const fromEnvironment = (serviceName: string) =>
  new ServiceClient({ baseUrl: process.env[`${serviceName.toUpperCase()}_URL`] as string });

async function failure(fn: () => unknown): Promise<Error & { code?: string }> {
  try {
    await fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a failure');
}

describe("the design's microservices OrderService on scaleout's ServiceClient", () => {
  it('createOrder prices, checks stock, pays, saves, updates stock and notifies, each over HTTP', async () => {
    const orders = new OrderService(fromEnvironment);
    const order = await orders.createOrder(ORDER);
    expect(order).toMatchObject({
      id: 'order_1',
      status: 'paid',
      pricing: { subtotal: 2.8, total: 2.52 },
      payment: { status: 'captured', amount: 2.52 },
    });
    expect(pricing.received).toEqual([
      { path: '/calculate', method: 'POST', body: { items: ORDER.items, promotions: ['TENOFF'] }, query: '' },
    ]);
    expect(inventory.received.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /check', 'POST /update']);
    expect(inventory.received[1]!.body).toEqual({ orderId: 'order_1', items: ORDER.items });
    expect(payment.received[0]!.body).toEqual({ amount: 2.52, paymentInfo: { card: 'tok_visa' } });
    expect(notification.received[0]!.body).toMatchObject({ type: 'new_order', order: { id: 'order_1' } });
    expect(stock.get('bolt')).toBe(92);
    await orders.close();
  });

  it('out of stock: the design throws its own error, and nothing is paid', async () => {
    const orders = new OrderService(fromEnvironment);
    await expect(orders.createOrder({ ...ORDER, items: [{ sku: 'gear', qty: 2 }] })).rejects.toThrow(
      'Some items are out of stock',
    );
    expect(payment.received).toEqual([]);
    expect(orders.saved).toEqual([]);
    await orders.close();
  });

  it('with the clients found through a registry (the second design), the same order flow', async () => {
    const registry = new ServiceRegistry({ adapter: memoryRegistryAdapter() });
    for (const [name, s] of [
      ['inventory-service', inventory],
      ['pricing-service', pricing],
      ['payment-service', payment],
      ['notification-service', notification],
    ] as const) {
      await registry.register(name, s.url);
    }
    const orders = new OrderService((serviceName) => new ServiceClient({ service: serviceName, registry }));
    expect(await orders.createOrder(ORDER)).toMatchObject({ status: 'paid', pricing: { total: 2.52 } });
    expect(notification.received).toHaveLength(1);
    await orders.close();
    await registry.close();
  });

  it("the design's own construction fails loudly, naming the fix", async () => {
    const err = await failure(() => new ServiceClient('inventory-service' as never));
    expect(err.code).toBe('ERR_INVALID_OPTIONS');
    expect(err.message).toContain("new ServiceClient({ baseUrl: process.env['INVENTORY-SERVICE_URL'] })");
    const registry = new ServiceRegistry({ adapter: memoryRegistryAdapter() });
    const second = await failure(() => new ServiceClient(registry as never, 'inventory-service' as never));
    expect(second.message).toContain("new ServiceClient({ service: 'inventory-service', registry })");
    await registry.close();
  });
});

describe("callers of the design's first ServiceClient: get(path, params), post(path, data)", () => {
  it('post(path, data) resolves to response.data; get(path, params) fails loudly and get(path, { params }) works', async () => {
    const inventoryClient = fromEnvironment('inventory-service');
    expect(await inventoryClient.post('/check', { items: [{ sku: 'bolt', qty: 1 }] })).toEqual({
      available: true,
    });
    const err = await failure(() => inventoryClient.get('/stock', { sku: 'bolt' } as never));
    expect(err.code).toBe('ERR_INVALID_OPTIONS');
    expect(err.message).toContain('params: { sku');
    expect(inventory.received.filter((r) => r.path === '/stock')).toEqual([]);
    expect(await inventoryClient.get('/stock', { params: { sku: 'bolt' } })).toEqual({
      sku: 'bolt',
      stock: 100,
    });
    await inventoryClient.close();
  });
});

describe("callers of the design's second ServiceClient: request(method, path, options), get, post", () => {
  let registry: ServiceRegistry;
  let client: ServiceClient;

  beforeAll(async () => {
    registry = new ServiceRegistry({ adapter: memoryRegistryAdapter() });
    await registry.register('inventory-service', inventory.url);
    // The design's `options.retries || 3`: the client's retry option (same count).
    client = new ServiceClient({ service: 'inventory-service', registry }, { retry: { maxAttempts: 3 } });
  });

  afterAll(async () => {
    await client.close();
    await registry.close();
  });

  it("request('get', path, options), get(path, options) and post(path, data, options) keep their meaning", async () => {
    expect(await client.request('get', '/stock', { params: { sku: 'nut' } })).toEqual({
      sku: 'nut',
      stock: 100,
    });
    expect(
      await client.get('/stock', { params: { sku: 'gear' }, headers: { 'x-caller': 'orders' } }),
    ).toEqual({
      sku: 'gear',
      stock: 1,
    });
    expect(
      await client.post(
        '/check',
        { items: [{ sku: 'gear', qty: 1 }] },
        { headers: { 'x-caller': 'orders' } },
      ),
    ).toEqual({ available: true });
    // The design's post goes through request('post', path, { ...options, data }).
    expect(await client.request('post', '/check', { data: { items: [{ sku: 'gear', qty: 5 }] } })).toEqual({
      available: false,
    });
    expect(inventory.received.map((r) => `${r.method} ${r.path}?${r.query}`)).toEqual([
      'GET /stock?sku=nut',
      'GET /stock?sku=gear',
      'POST /check?',
      'POST /check?',
    ]);
  });

  it('a per-call { retries: 3 } fails loudly, saying retries are set on the client', async () => {
    const err = await failure(() => client.request('get', '/stock', { retries: 3 } as never));
    expect(err.code).toBe('ERR_INVALID_OPTIONS');
    expect(err.message).toContain('retry: { maxAttempts: 3 }');
  });

  it('a documented difference: a POST is not replayed on failure without an idempotency key', async () => {
    // The design retried every request 3 times, POSTs included; scaleout only
    // replays a POST that carries an idempotency key (the server can dedupe it).
    const flaky = await service({ 'POST /reserve': () => ({ status: 503, body: { error: 'busy' } }) });
    const r = new ServiceRegistry({ adapter: memoryRegistryAdapter() });
    await r.register('flaky-service', flaky.url);
    const c = new ServiceClient(
      { service: 'flaky-service', registry: r },
      { retry: { maxAttempts: 3, backoff: { baseMs: 1, maxMs: 2 } } },
    );
    const err = await failure(() => c.post('/reserve', { sku: 'bolt' }));
    expect(isScaleoutError(err, 'ERR_HTTP_STATUS')).toBe(true);
    expect(flaky.received).toHaveLength(1);
    const keyed = await failure(() => c.post('/reserve', { sku: 'bolt' }, { idempotencyKey: 'order_9' }));
    expect(isScaleoutError(keyed, 'ERR_HTTP_STATUS')).toBe(true);
    expect(flaky.received).toHaveLength(4);
    await c.close();
    await r.close();
    await flaky.close();
  });
});
