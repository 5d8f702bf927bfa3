/**
 * A tiny node:http server for the middleware-overhead bench:
 * `node --import tsx bench/monitor-server.ts <none|scaleout|prom-client>`;
 * prints its port on stdout. `GET /__cpu` answers the process's CPU time
 * (µs) and the requests served so far, untracked.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import client from 'prom-client';
import { PerformanceMonitor } from '../dist/index.js';

const mode = process.argv[2] ?? 'none';
let track: (req: http.IncomingMessage, res: http.ServerResponse) => void = () => {};
if (mode === 'scaleout') {
  const monitor = new PerformanceMonitor();
  const middleware = monitor.middleware({ route: () => '/users/:id' });
  track = (req, res) => middleware(req, res);
} else if (mode === 'prom-client') {
  // What express-prom-bundle / hand-written prom-client middleware do: a timer per request.
  const histogram = new client.Histogram({
    name: 'http_request_duration_seconds',
    help: 'request duration',
    labelNames: ['method', 'route', 'status'],
  });
  track = (req, res) => {
    const end = histogram.startTimer();
    const started = process.hrtime.bigint();
    const writeHead = res.writeHead;
    res.writeHead = function (this: http.ServerResponse, ...args: unknown[]) {
      this.setHeader('X-Response-Time', `${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(3)}ms`);
      return (writeHead as (...a: unknown[]) => http.ServerResponse).apply(this, args);
    } as http.ServerResponse['writeHead'];
    res.on('finish', () => end({ method: req.method, route: '/users/:id', status: res.statusCode }));
  };
} else if (mode !== 'none') {
  throw new Error(`unknown mode ${mode}`);
}
const body = JSON.stringify({ id: 42, name: 'Ada' });
let requests = 0;
const server = http.createServer((req, res) => {
  if (req.url === '/__cpu') {
    const used = process.cpuUsage();
    res.end(JSON.stringify({ cpuUs: used.user + used.system, requests }));
    return;
  }
  requests++;
  track(req, res);
  res.setHeader('Content-Type', 'application/json');
  res.end(body);
});
server.listen(0, '127.0.0.1', () => {
  console.log((server.address() as AddressInfo).port);
});
