/**
 * The business logic of the order flow, shared by the monolith and the
 * microservices so that the only difference between the two is the network.
 */

/** An order as the customer places it. */
export interface OrderRequest {
  orderId: string;
  userId: string;
  items: Array<{ sku: string; qty: number }>;
}

/** A quoted line and the order total, in cents. */
export interface Quote {
  lines: Array<{ sku: string; qty: number; cents: number }>;
  totalCents: number;
}

/** What is saved and published as `order.created`. */
export interface Order extends OrderRequest {
  totalCents: number;
  paymentId: string;
}

export const CATALOG: Record<string, number> = { bolt: 25, nut: 10, gear: 1_250, chain: 3_400, belt: 990 };

/** Thrown for a request that can never succeed (answered 400 over HTTP). */
export class OrderRejected extends Error {
  override name = 'OrderRejected';
}

export function validate(req: OrderRequest): void {
  if (!req.orderId || !req.userId) throw new OrderRejected('orderId and userId are required');
  if (!Array.isArray(req.items) || req.items.length === 0) throw new OrderRejected('an order needs items');
  for (const { sku, qty } of req.items) {
    if (!(sku in CATALOG)) throw new OrderRejected(`unknown sku ${sku}`);
    if (!Number.isInteger(qty) || qty <= 0) throw new OrderRejected(`bad quantity for ${sku}`);
  }
}

/** The slow price lookup a cache sits in front of (a database, another team's API). */
export async function loadPrice(sku: string): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 5));
  const cents = CATALOG[sku];
  if (cents === undefined) throw new OrderRejected(`unknown sku ${sku}`);
  return cents;
}

export async function quote(
  items: OrderRequest['items'],
  price: (sku: string) => Promise<number>,
): Promise<Quote> {
  const lines = await Promise.all(items.map(async (i) => ({ ...i, cents: (await price(i.sku)) * i.qty })));
  return { lines, totalCents: lines.reduce((sum, l) => sum + l.cents, 0) };
}

/** Stock per sku. Writes carry the lock's fencing token; an older token is refused. */
export class StockStore {
  readonly #onHand = new Map<string, number>();
  readonly #fence = new Map<string, number>();
  reserved = 0;
  constructor(initial = 1_000_000) {
    for (const sku of Object.keys(CATALOG)) this.#onHand.set(sku, initial);
  }
  available(items: OrderRequest['items']): boolean {
    return items.every((i) => (this.#onHand.get(i.sku) ?? 0) >= i.qty);
  }
  reserve(sku: string, qty: number, fencingToken: number): void {
    if (fencingToken < (this.#fence.get(sku) ?? 0)) throw new Error(`stale fencing token for ${sku}`);
    this.#fence.set(sku, fencingToken);
    const left = (this.#onHand.get(sku) ?? 0) - qty;
    if (left < 0) throw new OrderRejected(`out of stock: ${sku}`);
    this.#onHand.set(sku, left);
    this.reserved += qty;
  }
}

/**
 * A payment provider that charges once per idempotency key and fails at
 * `failRate` (a seeded sequence: the same runs fail the same calls).
 */
export class PaymentProvider {
  readonly #charges = new Map<string, string>();
  readonly #random: () => number;
  attempts = 0;
  constructor(
    readonly failRate = 0,
    seed = 1,
  ) {
    this.#random = seeded(seed);
  }
  async charge(orderId: string, totalCents: number): Promise<string> {
    this.attempts++;
    if (this.#random() < this.failRate) throw new PaymentUnavailable('payment provider unavailable');
    const done = this.#charges.get(orderId);
    if (done !== undefined) return done; // a retry of a charge that went through
    const id = `pay-${orderId}-${totalCents}`;
    this.#charges.set(orderId, id);
    return id;
  }
  get charged(): number {
    return this.#charges.size;
  }
  /** The orders this provider charged. */
  get chargedOrders(): string[] {
    return [...this.#charges.keys()];
  }
}

/** A transient failure (answered 503 over HTTP, so the client retries). */
export class PaymentUnavailable extends Error {
  override name = 'PaymentUnavailable';
}

/** The orders table. */
export class OrderStore {
  readonly orders = new Map<string, Order>();
  save(order: Order): void {
    this.orders.set(order.orderId, order);
  }
}

/** The same pseudo-random batch of orders for every run. */
export function makeOrders(count: number): OrderRequest[] {
  const skus = Object.keys(CATALOG);
  const rand = seeded(42);
  return Array.from({ length: count }, (_, n) => ({
    orderId: `o-${n + 1}`,
    userId: ['ada', 'grace', 'linus'][n % 3]!,
    items: skus.filter(() => rand() < 0.4).map((sku) => ({ sku, qty: 1 + Math.floor(rand() * 3) })),
  })).map((o) => (o.items.length > 0 ? o : { ...o, items: [{ sku: 'bolt', qty: 1 }] }));
}

/** A small seeded pseudo-random sequence in [0, 1), so every run is the same. */
export function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}
