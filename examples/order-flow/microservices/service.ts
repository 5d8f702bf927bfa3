/**
 * What every service shares: a node:http server on a loopback ephemeral
 * port, a PerformanceMonitor on every request (its middleware also opens
 * the request's SERVER span when OpenTelemetry is registered: `--trace`),
 * `/metrics` (Prometheus text),
 * JSON in and out, registration in the ServiceRegistry, and a
 * ServiceLifecycle that answers `/live`, `/ready` and `/health` and stops
 * the service gracefully (deregister, drain, close).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PerformanceMonitor, ServiceLifecycle, type ServiceRegistry } from 'scaleout';
import { OrderRejected, PaymentUnavailable } from '../domain.js';

/** A route's answer: a status (200 by default) and a JSON body. */
export interface Reply {
  status?: number;
  body: unknown;
}

/** `'POST /quote'` → handler; `req` is there for headers (auth, idempotency keys). */
export type Routes = Record<
  string,
  (body: any, req: IncomingMessage, res: ServerResponse) => Promise<Reply | undefined>
>;

export interface RunningService {
  name: string;
  url: string;
  monitor: PerformanceMonitor;
  lifecycle: ServiceLifecycle;
  close(): Promise<void>;
}

export async function startService(
  name: string,
  registry: ServiceRegistry,
  routes: Routes,
): Promise<RunningService> {
  const monitor = new PerformanceMonitor();
  const metrics = monitor.handler();
  const path = (req: IncomingMessage) => req.url?.split('?')[0] ?? '/';
  // The route label (and SERVER span name) is the path of a known route.
  const route = (req: IncomingMessage) => (`${req.method} ${path(req)}` in routes ? path(req) : undefined);
  const track = monitor.middleware({ route });
  const server = createServer((req, res) => {
    if (req.url === '/metrics') return metrics(req, res);
    // The handler runs in the request's SERVER span (when tracing).
    track(req, res, () => void handle(req, res));
  });
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const handler = routes[`${req.method} ${path(req)}`];
    if (!handler) return void res.writeHead(404).end();
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = chunks.length > 0 ? JSON.parse(Buffer.concat(chunks).toString()) : undefined;
      const reply = await handler(body, req, res);
      if (reply) send(res, reply.status ?? 200, reply.body);
    } catch (err) {
      const status = err instanceof OrderRejected ? 400 : err instanceof PaymentUnavailable ? 503 : 500;
      send(res, status, { error: (err as Error).message });
    }
  };
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // /live, /ready and /health are answered by the lifecycle, before the routes.
  const lifecycle = new ServiceLifecycle({ servers: [server], deadlineMs: 5_000 });
  lifecycle.manage(monitor, { name: 'monitor' });
  lifecycle.manage(await registry.register(name, url));
  return {
    name,
    url,
    monitor,
    lifecycle,
    async close() {
      const report = await lifecycle.shutdown();
      if (!report.clean) console.warn(`${name} stopped uncleanly`, report.overran);
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
