import { connect, createServer, type Server, type Socket } from 'node:net';
import { seededRandom } from './seeded-random.js';

/**
 * What the proxy does to traffic:
 * - `pass`: forwards both ways;
 * - `delay`: forwards every chunk after `ms` (order kept);
 * - `drop`: closes every connection (FIN) and closes new ones on accept;
 * - `reset`: resets every connection (RST) and new ones on accept;
 * - `blackhole`: accepts, swallows every byte both ways and never answers;
 * - `lose-responses`: forwards requests, but resets the connection instead of
 *   forwarding a chunk from the target with probability `rate` (seeded): the
 *   server has done the work and answered, the client never sees it.
 */
export type FaultMode =
  | { kind: 'pass' }
  | { kind: 'delay'; ms: number }
  | { kind: 'drop' }
  | { kind: 'reset' }
  | { kind: 'blackhole' }
  | { kind: 'lose-responses'; rate: number; seed?: number };

/** A TCP proxy on a loopback port in front of a target, with injectable faults. */
export interface FaultProxy {
  readonly port: number;
  readonly mode: FaultMode;
  /** Open client connections. */
  readonly connections: number;
  /** Total connections accepted since start. */
  readonly accepted: number;
  /** Responses lost (connections reset) in `lose-responses` mode since start. */
  readonly lost: number;
  setMode(mode: FaultMode): void;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket | undefined;
}

/** Starts a proxy on an ephemeral loopback port that forwards to `target`. */
export async function startFaultProxy(target: { host?: string; port: number }): Promise<FaultProxy> {
  const host = target.host ?? '127.0.0.1';
  let mode: FaultMode = { kind: 'pass' };
  let accepted = 0;
  let lost = 0;
  let random = seededRandom(1);
  const pairs = new Set<Pair>();

  const destroyPair = (pair: Pair, how: 'end' | 'reset') => {
    pairs.delete(pair);
    for (const s of [pair.client, pair.upstream]) {
      if (s === undefined || s.destroyed) continue;
      if (how === 'reset') s.resetAndDestroy();
      else s.end(() => s.destroy());
    }
  };

  const forward = (from: Socket, to: () => Socket | undefined, response?: Pair) => {
    // Chunks held back by `delay` leave in arrival order: a chunk that
    // arrives after the mode changed (to `pass`, or to a shorter delay)
    // waits behind the ones still held, so the byte stream is never reordered.
    const held: Array<{ at: number; chunk: Buffer }> = [];
    let timer: NodeJS.Timeout | undefined;
    const write = (chunk: Buffer) => {
      const sink = to();
      if (sink !== undefined && !sink.destroyed) sink.write(chunk);
    };
    const drain = () => {
      timer = undefined;
      const now = Date.now();
      while (held.length > 0 && held[0]!.at <= now) write(held.shift()!.chunk);
      if (held.length > 0) timer = setTimeout(drain, held[0]!.at - now);
    };
    from.on('data', (chunk: Buffer) => {
      const current = mode;
      if (current.kind === 'blackhole' || current.kind === 'drop' || current.kind === 'reset') return;
      if (current.kind === 'lose-responses') {
        if (response !== undefined && random() < current.rate) {
          lost++;
          destroyPair(response, 'reset');
          return;
        }
        write(chunk);
        return;
      }
      if (current.kind === 'pass' && held.length === 0) {
        write(chunk);
        return;
      }
      const now = Date.now();
      const last = held.length > 0 ? held[held.length - 1]!.at : 0;
      held.push({ at: Math.max(last, now + (current.kind === 'delay' ? current.ms : 0)), chunk });
      if (timer === undefined) timer = setTimeout(drain, held[0]!.at - now);
    });
    from.on('close', () => {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      held.length = 0;
    });
  };

  const server: Server = createServer((client) => {
    accepted++;
    const pair: Pair = { client, upstream: undefined };
    client.on('error', () => destroyPair(pair, 'end'));
    client.on('close', () => destroyPair(pair, 'end'));
    if (mode.kind === 'reset') {
      client.resetAndDestroy();
      return;
    }
    if (mode.kind === 'drop') {
      client.end(() => client.destroy());
      return;
    }
    pairs.add(pair);
    const upstream = connect(target.port, host);
    pair.upstream = upstream;
    upstream.on('error', () => destroyPair(pair, 'reset'));
    upstream.on('close', () => destroyPair(pair, 'end'));
    forward(client, () => pair.upstream);
    forward(upstream, () => pair.client, pair);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');

  return {
    port: address.port,
    get mode() {
      return mode;
    },
    get connections() {
      return pairs.size;
    },
    get accepted() {
      return accepted;
    },
    get lost() {
      return lost;
    },
    setMode(next) {
      mode = next;
      if (next.kind === 'lose-responses') random = seededRandom(next.seed ?? 1);
      if (next.kind === 'drop' || next.kind === 'reset') {
        for (const pair of [...pairs]) destroyPair(pair, next.kind === 'reset' ? 'reset' : 'end');
      }
    },
    close() {
      for (const pair of [...pairs]) destroyPair(pair, 'reset');
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
