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
 * - a health report that cannot be computed (or is not one, or cannot be
 *   written as JSON), or is not computed within {@link PROBE_ANSWER_LIMIT_MS}
 *   (a source other than ServiceLifecycle whose `health()` never settles):
 *   503 `{"status":"unready"}`.
 *
 * `HEAD` answers carry the headers of the `GET` answer and no body. Every
 * answer is `application/json` and `Cache-Control: no-store`.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestPath } from '../internal/request-path.js';
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

const UNREADY = (): ProbeAnswer => json(503, { status: 'unready' });

/**
 * @internal The longest a probe waits for a health report before it answers
 * 503 (30 s: past any orchestrator's probe timeout, above ServiceLifecycle's
 * bounded checks, so only a source whose `health()` never settles meets it).
 */
export const PROBE_ANSWER_LIMIT_MS = 30_000;

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
  limitMs: number = PROBE_ANSWER_LIMIT_MS,
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
  let limit: NodeJS.Timeout | undefined;
  // A report that never comes must not leave the request unanswered.
  const late = new Promise<never>((_, reject) => {
    limit = setTimeout(() => reject(new Error('late')), limitMs);
    limit.unref();
  });
  return Promise.race([running, late]).then(
    (report) => {
      clearTimeout(limit);
      // A source other than ServiceLifecycle may resolve anything: a junk report (or one JSON
      // cannot write) is unready, never a rejection that would leave the request unanswered.
      try {
        if (typeof report?.ready !== 'boolean' || typeof report.status !== 'string') return UNREADY();
        return json(report.ready ? 200 : 503, detailed ? report : { status: report.status });
      } catch {
        return UNREADY();
      }
    },
    () => {
      clearTimeout(limit);
      return UNREADY();
    },
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
    const answer = answerProbe(source, paths, req.method, req.url === undefined ? '' : requestPath(req.url));
    if (answer === undefined) return false;
    const head = req.method === 'HEAD';
    if (answer instanceof Promise) void answer.then((a) => sendAnswer(res, a, head));
    else sendAnswer(res, answer, head);
    return true;
  };
}
