/**
 * `npm run example`: the order flow, end to end. Starts the six services,
 * logs three customers in, places a batch of orders through the gateway,
 * waits for inventory and notification to process every `order.created`,
 * then prints one order's trace and a table of what happened.
 *
 *   npm run example                          memory adapters, nothing to install
 *   REDIS_URL=redis://127.0.0.1:6379 AMQP_URL=amqp://127.0.0.1 npm run example
 *   npm run example -- --fail payment=0.2    a flaky payment provider: retries, breaker trips
 *   npm run example -- --compare             the same orders as a monolith: the cost of each hop
 *   npm run example -- --orders 200          a bigger batch
 *   npm run example -- --trace               one order's OpenTelemetry spans as a waterfall
 *                                            (text here, SVG + JSON in a file: --trace-file)
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeOrders, type OrderRequest } from './domain.js';
import { createInfra } from './infra.js';
import { startMicroservices } from './microservices/index.js';
import { startMonolith, type TraceStep } from './monolith.js';

const { values } = parseArgs({
  options: {
    fail: { type: 'string', multiple: true, default: [] },
    compare: { type: 'boolean', default: false },
    orders: { type: 'string', default: '40' },
    concurrency: { type: 'string', default: '4' },
    trace: { type: 'boolean', default: false },
    'trace-file': { type: 'string', default: join(tmpdir(), 'scaleout-order-trace.svg') },
  },
});
// --trace: the OpenTelemetry SDK, registered before anything starts (spans kept in memory).
const tracing = values.trace ? (await import('./tracing.js')).startTracing() : undefined;
let failRate = 0;
for (const spec of values.fail) {
  const [service, rate] = spec.split('=');
  if (service !== 'payment' || !(Number(rate) >= 0 && Number(rate) < 1)) {
    console.error(`--fail takes payment=<rate in [0, 1)>, not "${spec}"`);
    process.exit(2);
  }
  failRate = Number(rate);
}
const count = Number(values.orders);
const concurrency = values.compare ? 1 : Number(values.concurrency); // one at a time when measuring
if (!(Number.isInteger(count) && count > 0 && Number.isInteger(concurrency) && concurrency > 0)) {
  console.error('--orders and --concurrency take positive integers');
  process.exit(2);
}
const batch = makeOrders(count);
const ms = (n: number | null | undefined) => (n == null ? '-' : n.toFixed(2));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

// ---- microservices ---------------------------------------------------------
const infra = await createInfra();
const app = await startMicroservices(infra, { failRate });
console.log(`order flow on ${infra.label}: ${app.services.length} services on loopback`);
for (const s of app.services) console.log(`  ${s.name.padEnd(20)} ${s.url}`);

let retries = 0;
let breakerTrips = 0;
for (const client of [...app.orders.clients, app.gateway.orders]) {
  client.on('retry', () => retries++);
  client.on('breaker-state-change', (e) => {
    if (e.to === 'open') breakerTrips++;
  });
}
let chargeReplays = 0;
app.paymentKeys.on('replayed', () => chargeReplays++);
let hits = 0;
let misses = 0;
app.pricing.cache.on('hit', () => hits++);
app.pricing.cache.on('miss', () => misses++);

const gateway = app.gateway.url;
const post = async (path: string, body: unknown, token?: string, extra: Record<string, string> = {}) => {
  const res = await fetch(gateway + path, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...extra,
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
};
const tokens = new Map<string, string>();
for (const user of new Set(batch.map((o) => o.userId)))
  tokens.set(user, (await post('/login', { user })).body.token);
console.log(`logged in ${tokens.size} customers (session + JWT each)`);
const refused = await post('/orders', batch[0]);
console.log(`an order without a token: ${refused.status} ${refused.body.error ?? ''}`.trimEnd());

const placed: Array<{ req: OrderRequest; trace: TraceStep[]; ms: number }> = [];
/** The customer's span of the traced order (the first one), with --trace. */
let tracedRoot: string | undefined;
const tracedOrder = batch[0]!.orderId;
const failed: string[] = [];
let done = 0;
const progress = () => {
  const line = `placing orders ${done}/${count} (${failed.length} failed)`;
  if (process.stdout.isTTY) process.stdout.write(`\r${line}${done === count ? '\n' : ''}`);
  else if (done === count || done % Math.max(1, Math.ceil(count / 4)) === 0) console.log(line);
};
const started = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < batch.length) {
      const req = batch[next++]!;
      const { userId, ...order } = req;
      const t0 = performance.now();
      let res!: Awaited<ReturnType<typeof post>>;
      if (tracing !== undefined && req.orderId === tracedOrder) {
        // The customer's request is the root span; its context goes in the headers.
        tracedRoot = await tracing.customer(
          'POST /orders',
          Number(new URL(gateway).port),
          async (headers) => {
            res = await post('/orders', order, tokens.get(userId), headers);
          },
        );
      } else {
        res = await post('/orders', order, tokens.get(userId));
      }
      if (res.status === 201) placed.push({ req, trace: res.body.trace, ms: performance.now() - t0 });
      else failed.push(`${req.orderId}: ${res.status} ${res.body.error ?? ''}`);
      done++;
      progress();
    }
  }),
);
const elapsed = performance.now() - started;

// At-least-once consumers finish on their own time: wait for every placed order.
const waitUntil = Date.now() + 30_000;
while (
  (app.inventory.reserved.size < placed.length || app.notification.notified.size < placed.length) &&
  Date.now() < waitUntil
) {
  await new Promise((r) => setTimeout(r, 20));
}

const first = placed.find((p) => p.req.orderId === 'o-1') ?? placed[0];
if (first) {
  console.log(
    `\ntrace of ${first.req.orderId} (${first.req.items.map((i) => `${i.qty}x ${i.sku}`).join(', ')}):`,
  );
  console.log(`  customer    POST /orders to the gateway              ${ms(first.ms).padStart(8)} ms`);
  for (const step of first.trace)
    console.log(`  ${step.service.padEnd(11)} ${step.step.padEnd(40)} ${ms(step.ms).padStart(8)} ms`);
  console.log(`  inventory   reserved stock from order.created (DistributedLock per sku)`);
  console.log(`  notification told ${first.req.userId} about ${first.req.orderId}`);
}
for (const f of failed.slice(0, 3)) console.log(`failed ${f}`);

if (tracing !== undefined && tracedRoot !== undefined) {
  const { treeShape, waterfallSvg, waterfallText } = await import('./waterfall.js');
  const tree = await tracing.tree(tracedRoot, {
    ports: new Map(app.services.map((s) => [Number(new URL(s.url).port), s.name])),
    groups: new Map([
      ['inventory', 'inventory-service'],
      ['notification', 'notification-service'],
    ]),
    root: 'customer',
  });
  console.log(`\nwaterfall of ${tracedOrder} (its OpenTelemetry spans, as recorded):`);
  for (const line of waterfallText(tree)) console.log(`  ${line}`);
  const file = values['trace-file'];
  writeFileSync(
    file,
    waterfallSvg(tree, `order ${tracedOrder}: one trace through the order flow (${infra.label})`),
  );
  writeFileSync(file.replace(/(\.svg)?$/, '.json'), `${JSON.stringify(treeShape(tree), null, 2)}\n`);
  console.log(`waterfall written to ${file} (open it in a browser)`);
}

const probes = await Promise.all(
  app.services.map(async (s) => [
    (await fetch(`${s.url}/health`)).status,
    (await fetch(`${s.url}/metrics`)).status,
  ]),
);
const healthy = probes.filter(([h, m]) => h === 200 && m === 200).length;

console.log('\n| service                | requests | p50 ms | p95 ms | p99 ms |');
console.log('| ---------------------- | -------- | ------ | ------ | ------ |');
for (const s of app.services) {
  const st = s.monitor.getStats();
  console.log(
    `| ${(s.name + (s.name === 'payment-service' ? ` :${s.url.split(':')[2]}` : '')).padEnd(22)} | ${String(st.totalRequests).padStart(8)} | ${ms(st.p50Ms).padStart(6)} | ${ms(st.p95Ms).padStart(6)} | ${ms(st.p99Ms).padStart(6)} |`,
  );
}
const rate = hits + misses === 0 ? 0 : (100 * hits) / (hits + misses);
console.log('');
console.log(`orders placed        ${placed.length}/${count} in ${(elapsed / 1000).toFixed(2)} s`);
console.log(`orders failed        ${failed.length}`);
console.log(`orders rate-limited  ${app.gateway.limited()} (60 a minute per customer, at the gateway)`);
console.log(
  `stock reserved       ${app.inventory.reserved.size} orders, ${app.inventory.stock.reserved} items`,
);
console.log(`customers notified   ${app.notification.notified.size}`);
console.log(`cache hit rate       ${rate.toFixed(1)}% (${hits} hits, ${misses} misses)`);
console.log(
  `payment attempts     ${app.payments.reduce((n, p) => n + p.provider.attempts, 0)} (fail rate ${failRate})`,
);
const charges = app.payments.flatMap((p) => p.provider.chargedOrders);
console.log(
  `payments charged     ${charges.length}, ${charges.length - new Set(charges).size} twice (${chargeReplays} retries answered from the idempotency store)`,
);
console.log(`retries              ${retries}`);
console.log(`breaker trips        ${breakerTrips}`);
console.log(`/health and /metrics ${healthy}/${app.services.length} services answered 200`);
const complete =
  app.inventory.reserved.size === placed.length && app.notification.notified.size === placed.length;
await app.close();
await infra.close();
await tracing?.close();

// ---- --compare: the same orders in one process -----------------------------
if (values.compare) {
  const monoInfra = await createInfra();
  const mono = await startMonolith(monoInfra, { failRate });
  const monoTraces: TraceStep[][] = [];
  const monoMs: number[] = [];
  for (const req of batch) {
    const t0 = performance.now();
    try {
      monoTraces.push((await mono.createOrder(req)).trace);
      monoMs.push(performance.now() - t0);
    } catch {}
  }
  const stepMs = (traces: TraceStep[][], service: string) =>
    median(traces.flatMap((t) => t.filter((s) => s.service === service).map((s) => s.ms)));
  const microTraces = placed.map((p) => p.trace);
  console.log(`\nmonolith vs microservices, same ${count} orders, one at a time (medians):`);
  console.log('| step                          | function call ms | over HTTP ms | cost of the hop ms |');
  console.log('| ----------------------------- | ---------------- | ------------ | ------------------ |');
  const hops: number[] = [];
  for (const [service, label] of [
    ['pricing', 'orders -> pricing (quote)'],
    ['inventory', 'orders -> inventory (check)'],
    ['payment', 'orders -> payment (charge)'],
  ] as const) {
    const a = stepMs(monoTraces, service);
    const b = stepMs(microTraces, service);
    hops.push(b - a);
    console.log(
      `| ${label.padEnd(29)} | ${ms(a).padStart(16)} | ${ms(b).padStart(12)} | ${ms(b - a).padStart(18)} |`,
    );
  }
  const a = median(monoMs);
  const b = median(placed.map((p) => p.ms));
  console.log(
    `| ${'whole order (from the client)'.padEnd(29)} | ${ms(a).padStart(16)} | ${ms(b).padStart(12)} | ${ms(b - a).padStart(18)} |`,
  );
  console.log(
    `cost of one network hop (median of the three measured): ${ms(median(hops))} ms; an order makes 5`,
  );
  console.log(
    '(customer -> gateway -> orders -> pricing, inventory, payment), each with JSON, HTTP and a registry pick.',
  );
  await mono.close();
  await monoInfra.close();
}

console.log(
  complete
    ? '\nall placed orders reserved and notified; shut down cleanly'
    : '\nsome orders were not processed in time',
);
process.exitCode = complete ? 0 : 1;
