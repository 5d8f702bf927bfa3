/**
 * A real HTTP upstream on loopback whose faults tests and benchmarks set:
 * fail a fraction of requests, answer 429/503 with Retry-After, hang, add
 * latency, reset the connection before or after committing a POST, be
 * killed and revived on the same port. It counts what it received and the
 * side effects it committed, so tests can prove "no duplicate side effect".
 *
 * Routes: any method on any path answers 200 `{ ok: true, path }`. A POST
 * commits a side effect keyed by `body.op` (or a fresh id); with an
 * `Idempotency-Key` header a repeated key returns the stored answer without
 * committing again.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface FaultSettings {
  /** Fraction of requests answered with `failStatus` (seeded pseudo-random). */
  failRate: number;
  /** The next n requests fail with `failStatus` (deterministic), before failRate is considered. */
  failNext: number;
  /** Status of a failed request. */
  failStatus: number;
  /** `Retry-After` header on failures (seconds as text), if set. */
  retryAfter: string | undefined;
  /** Added latency before answering, ms. */
  latencyMs: number;
  /** Never answer (the socket stays open until the client gives up). */
  hang: boolean;
  /** Destroy the socket on arrival, before any side effect. */
  resetBeforeCommit: boolean;
  /** For POST: commit the side effect, then destroy the socket without answering. */
  resetAfterCommit: boolean;
  /** Reset after commit only for the first n POSTs (then answer normally). */
  resetAfterCommitTimes: number;
  /** Fraction of POSTs (seeded pseudo-random) reset after commit, when resetAfterCommit is off. */
  resetAfterCommitRate: number;
}

export interface FakeUpstream {
  readonly url: string;
  readonly port: number;
  /** Requests received (including failed, hung and reset ones). */
  readonly requests: number;
  /** TCP connections open right now. */
  readonly openConnections: number;
  /** Side effects committed per op id. */
  readonly commits: Map<string, number>;
  /** Values of x-request-deadline-ms received, in order. */
  readonly deadlines: number[];
  /** Idempotency keys received, in order. */
  readonly idempotencyKeys: string[];
  /** Ops committed more than once. */
  duplicateCommits(): number;
  set(settings: Partial<FaultSettings>): void;
  /** Resets counters (not settings). */
  resetCounts(): void;
  /** Closes the listener and destroys every connection (the process "dies"). */
  kill(): Promise<void>;
  /** Listens again on the same port. */
  revive(): Promise<void>;
  close(): Promise<void>;
}

/** The settings of a healthy upstream (what a fresh one starts with). */
export const FAULT_DEFAULTS: Readonly<FaultSettings> = Object.freeze({
  failRate: 0,
  failNext: 0,
  failStatus: 503,
  retryAfter: undefined,
  latencyMs: 0,
  hang: false,
  resetBeforeCommit: false,
  resetAfterCommit: false,
  resetAfterCommitTimes: Number.POSITIVE_INFINITY,
  resetAfterCommitRate: 0,
});

/** A small seeded PRNG (mulberry32) so fault patterns repeat run to run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function startFakeUpstream(
  options: { seed?: number; port?: number } = {},
): Promise<FakeUpstream> {
  let settings: FaultSettings = { ...FAULT_DEFAULTS };
  const random = seededRandom(options.seed ?? 42);
  const sockets = new Set<Socket>();
  const commits = new Map<string, number>();
  const stored = new Map<string, string>();
  const deadlines: number[] = [];
  const idempotencyKeys: string[] = [];
  let requests = 0;
  let resetsAfterCommit = 0;
  let opSeq = 0;

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    requests++;
    const deadline = req.headers['x-request-deadline-ms'];
    if (typeof deadline === 'string') deadlines.push(Number(deadline));
    const key = req.headers['idempotency-key'];
    if (typeof key === 'string') idempotencyKeys.push(key);
    if (settings.resetBeforeCommit) {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (settings.hang) return;
      let fail = false;
      if (settings.failNext > 0) {
        settings.failNext--;
        fail = true;
      } else if (settings.failRate > 0) {
        fail = random() < settings.failRate;
      }
      const answer = () => {
        if (res.destroyed) return;
        if (fail) {
          const headers: Record<string, string> = { 'content-type': 'application/json' };
          if (settings.retryAfter !== undefined) headers['retry-after'] = settings.retryAfter;
          res.writeHead(settings.failStatus, headers).end(JSON.stringify({ error: 'injected' }));
          return;
        }
        let body = JSON.stringify({ ok: true, path: req.url });
        if (req.method === 'POST') {
          if (typeof key === 'string' && stored.has(key)) {
            res.writeHead(200, { 'content-type': 'application/json' }).end(stored.get(key));
            return;
          }
          let op = `op-${++opSeq}`;
          try {
            const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { op?: unknown };
            if (typeof parsed.op === 'string') op = parsed.op;
          } catch {}
          commits.set(op, (commits.get(op) ?? 0) + 1);
          body = JSON.stringify({ ok: true, op, committed: commits.get(op) });
          if (typeof key === 'string') stored.set(key, body);
          const resetNow =
            (settings.resetAfterCommit && resetsAfterCommit < settings.resetAfterCommitTimes) ||
            (settings.resetAfterCommitRate > 0 && random() < settings.resetAfterCommitRate);
          if (resetNow) {
            resetsAfterCommit++;
            req.socket.destroy();
            return;
          }
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      };
      if (settings.latencyMs > 0) setTimeout(answer, settings.latencyMs);
      else answer();
    });
  };

  let server: Server = createServer(handle);
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server = createServer(handle);
      server.keepAliveTimeout = 30_000;
      server.on('connection', (socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        const address = server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : port);
      });
    });
  const port = await listen(options.port ?? 0);
  let alive = true;
  const kill = async () => {
    if (!alive) return;
    alive = false;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await closed;
  };

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get requests() {
      return requests;
    },
    get openConnections() {
      return sockets.size;
    },
    commits,
    deadlines,
    idempotencyKeys,
    duplicateCommits: () => [...commits.values()].filter((n) => n > 1).length,
    set: (patch) => {
      settings = { ...settings, ...patch };
    },
    resetCounts: () => {
      requests = 0;
      resetsAfterCommit = 0;
      commits.clear();
      stored.clear();
      deadlines.length = 0;
      idempotencyKeys.length = 0;
    },
    kill,
    revive: async () => {
      if (alive) return;
      await listen(port);
      alive = true;
    },
    close: kill,
  };
}
