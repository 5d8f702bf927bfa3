/**
 * The probes' answers, framework-neutral: what `/live`, `/ready` and
 * `/health` answer for a method and a path. The node:http hook of a
 * managed server (http-drain.ts), {@link probeHandler} and the Express,
 * Fastify and Koa exports all render the same {@link ProbeAnswer}, so the
 * four agree on status codes, headers and bodies:
 *
 * - `GET`/`HEAD /live`: 200 `{"status":"live"}` while the process runs
 *   (also while it drains: restarting it would cut the drain);
 * - `GET`/`HEAD /ready`: 200 `{"status":"ok"|"degraded"}` when ready, else
 *   503 `{"status":"unready"|"stopping"}`;
 * - `GET`/`HEAD /health`: the whole {@link HealthReport} (every check with
 *   its duration and details or error), 200 when ready, else 503;
 * - any other method on a probe path: 405 with `Allow: GET, HEAD`;
 * - a health report that cannot be computed: 503 `{"status":"unready"}`.
 *
 * `HEAD` answers carry the headers of the `GET` answer and no body. Every
 * answer is `application/json` and `Cache-Control: no-store`.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HealthReport } from './health-checks.js';
import type { ProbeResponder } from './http-drain.js';

/**
 * What the probes read: a {@link ServiceLifecycle} (its `health()`), or
 * anything with the same method.
 *
 * @example
 * ```ts
 * const source: HealthSource = lifecycle;
 * ```
 */
export interface HealthSource {
  /** The full report (runs every check, each within its timeout). */
  health(): Promise<HealthReport>;
}

/** @internal Where the probes are answered; `false` for a path not served. */
export interface ResolvedProbePaths {
  readonly livePath: string | false;
  readonly readyPath: string | false;
  readonly healthPath: string | false;
}

/**
 * One probe's answer, before a framework renders it.
 *
 * @example
 * ```ts
 * const answer: ProbeAnswer = { status: 200, headers: { 'Content-Type': 'application/json' }, body: '{}' };
 * ```
 */
export interface ProbeAnswer {
  /** The HTTP status: 200, 503 or 405. */
  readonly status: number;
  /** Headers to set (never `Content-Length`: the renderer sets it). */
  readonly headers: Readonly<Record<string, string>>;
  /** The JSON text of the body (a `HEAD` answer sends none). */
  readonly body: string;
}

const JSON_HEADERS = {
  'Content-Type': 'application/json; charset=utf-8',
  'Cache-Control': 'no-store',
} as const;

function json(status: number, body: unknown, extra: Record<string, string> = {}): ProbeAnswer {
  return { status, headers: { ...JSON_HEADERS, ...extra }, body: `${JSON.stringify(body)}\n` };
}

/** @internal The path of a request URL, without its query. */
export function pathOf(url: string | undefined): string {
  if (url === undefined) return '';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/**
 * @internal The answer to `method path`, or `undefined` when `path` is not
 * a probe path (the request goes on to the application). Never rejects.
 *
 * @example
 * ```ts
 * const answer = answerProbe(lifecycle, paths, 'GET', '/ready');
 * ```
 */
export function answerProbe(
  source: HealthSource,
  paths: ResolvedProbePaths,
  method: string | undefined,
  path: string,
): ProbeAnswer | Promise<ProbeAnswer> | undefined {
  const live = path === paths.livePath;
  const detailed = path === paths.healthPath;
  if (!live && !detailed && path !== paths.readyPath) return undefined;
  if (method !== 'GET' && method !== 'HEAD') {
    return json(405, { error: 'method not allowed' }, { Allow: 'GET, HEAD' });
  }
  if (live) return json(200, { status: 'live' });
  let running: Promise<HealthReport>;
  try {
    running = Promise.resolve(source.health());
  } catch {
    return json(503, { status: 'unready' });
  }
  return running.then(
    (report) => json(report.ready ? 200 : 503, detailed ? report : { status: report.status }),
    () => json(503, { status: 'unready' }),
  );
}

/** @internal Writes `answer` on a node response (no body for `HEAD`). */
export function sendAnswer(res: ServerResponse, answer: ProbeAnswer, head: boolean): void {
  if (res.headersSent || res.writableEnded) return;
  res.writeHead(answer.status, { ...answer.headers, 'Content-Length': Buffer.byteLength(answer.body) });
  res.end(head ? undefined : answer.body);
}

/**
 * @internal Answers the probes on every managed server, before any
 * framework routing (see the module notes).
 *
 * @example
 * ```ts
 * const drain = new HttpDrain(server, probeResponder(lifecycle, paths));
 * ```
 */
export function probeResponder(source: HealthSource, paths: ResolvedProbePaths): ProbeResponder {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const answer = answerProbe(source, paths, req.method, pathOf(req.url));
    if (answer === undefined) return false;
    const head = req.method === 'HEAD';
    if (answer instanceof Promise) void answer.then((a) => sendAnswer(res, a, head));
    else sendAnswer(res, answer, head);
    return true;
  };
}
