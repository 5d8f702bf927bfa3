import type { IncomingMessage, ServerResponse } from 'node:http';
import { PROMETHEUS_CONTENT_TYPE } from './prometheus-text.js';

/** @internal What `/metrics` serves: a monitor's JSON report and its Prometheus exposition. */
export interface MetricsSource {
  /** JSON-friendly stats. */
  toJSON(): unknown;
  /** The Prometheus text exposition in chunks. */
  exposition(): AsyncIterable<Buffer>;
}

function wantsJson(req: IncomingMessage): boolean {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  if (q >= 0 && new URLSearchParams(url.slice(q + 1)).get('format') === 'json') return true;
  const accept = req.headers.accept ?? '';
  return accept.includes('application/json') && !accept.includes('text/plain');
}

/** @internal serves /metrics: streamed Prometheus text, or JSON stats. */
export function metricsRequestHandler(
  monitor: MetricsSource,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  if (wantsJson(req)) {
    const body = JSON.stringify(monitor.toJSON());
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(body);
    return;
  }
  res.writeHead(200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE, 'Cache-Control': 'no-store' });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  void (async () => {
    try {
      for await (const chunk of monitor.exposition()) {
        if (res.destroyed) return;
        if (!res.write(chunk)) {
          await new Promise<void>((resolve) => {
            const done = () => {
              res.off('drain', done);
              res.off('close', done);
              resolve();
            };
            res.on('drain', done);
            res.on('close', done);
          });
        }
      }
      res.end();
    } catch {
      res.destroy();
    }
  })();
}
