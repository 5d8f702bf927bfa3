import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HealthReport } from './health-checks.js';
import type { ProbeResponder } from './http-drain.js';

/** @internal What the probes read from the lifecycle. */
export interface ProbeSource {
  livePath: string | false;
  readyPath: string | false;
  healthPath: string | false;
  /** The full report (runs every check). */
  health(): Promise<HealthReport>;
}

function pathOf(url: string | undefined): string {
  if (url === undefined) return '';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function send(res: ServerResponse, status: number, body: unknown, head: boolean): void {
  if (res.headersSent || res.writableEnded) return;
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(head ? undefined : text);
}

/**
 * @internal Answers `/live`, `/ready` and `/health` (GET or HEAD) on every
 * managed server, before any framework routing: `/live` 200 while the
 * process runs (also while it drains: restarting it would cut the drain);
 * `/ready` 200 when ready, else 503; `/health` the full report, 200 unless
 * not ready.
 *
 * @example
 * ```ts
 * const drain = new HttpDrain(server, probeResponder(source));
 * ```
 */
export function probeResponder(source: ProbeSource): ProbeResponder {
  const { livePath, readyPath, healthPath } = source;
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const path = pathOf(req.url);
    const head = req.method === 'HEAD';
    if (path === livePath) {
      send(res, 200, { status: 'live' }, head);
      return true;
    }
    if (path !== readyPath && path !== healthPath) return false;
    const detailed = path === healthPath;
    source.health().then(
      (report) => {
        const status = report.ready ? 200 : 503;
        send(res, status, detailed ? report : { status: report.status }, head);
      },
      () => send(res, 503, { status: 'unready' }, head),
    );
    return true;
  };
}
