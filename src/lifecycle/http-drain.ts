/**
 * How one node HTTP server is drained (what http-terminator and stoppable
 * do, plus a refusal clients can recognise). The server goes through:
 *
 * ```text
 *   SERVING ── draining() ──> DRAINING ── stopAccepting() ──> REFUSING ── (every request done) ──> DRAINED
 *      │                         │                               │
 *      │                         │                               └─ force(): every socket destroyed
 *      └── requests served       └── responses carry             at once (the deadline passed)
 *          as usual                  `Connection: close`; a
 *                                    socket whose last request
 *                                    ends is closed
 * ```
 *
 * - SERVING: requests pass through untouched (one Map write per request,
 *   to know which sockets are busy).
 * - DRAINING (readiness already 503, the instance deregistered, the load
 *   balancer still catching up): requests are still served, but each
 *   response says `Connection: close`, and a keep-alive socket is ended
 *   once its last request is answered, so clients reconnect elsewhere. A
 *   request still read from a socket the drain ended never reaches the
 *   application (it is refused as below): a client that sent it as the
 *   socket closed sees an error, never an effect without an answer.
 * - REFUSING: the listener is closed (no new connection); idle keep-alive
 *   sockets are ended at once, busy ones after their current response. A
 *   request that still arrives (on a socket being closed) never reaches the
 *   application: it is answered `503` with `Connection: close`,
 *   `Retry-After: 0` and {@link DRAINING_HEADER}, so a client knows the
 *   request never started and may send it to another instance whatever its
 *   method.
 * - force(): every socket is destroyed (responses in flight are cut).
 *
 * The server is hooked through its `emit('request')`, which node:http,
 * Express (`app.listen()`), Koa (`app.listen()`) and Fastify
 * (`fastify.server`) all go through, so request listeners added later are
 * covered too, and probe paths (`/live`, `/ready`, `/health`) are answered
 * before any framework routing. REFUSING closes the listener with
 * `server.close()`, or with the `CloseListener` given (a Fastify
 * app's own `close()`: its `preClose` hooks, the server's close once its
 * requests are done, then its `onClose` hooks).
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * The header of a `503` refused because the instance is draining: the
 * request never reached the application, so a client may send it to
 * another instance whatever its method. Value: `1`.
 *
 * @example
 * ```ts
 * if (res.headers[DRAINING_HEADER] === '1') retryElsewhere();
 * ```
 */
export const DRAINING_HEADER = 'x-scaleout-draining';

/**
 * The part of a node `http.Server` (or `https.Server`) the drain uses:
 * what `app.listen()` returns in Express and Koa, and `fastify.server`.
 *
 * @example
 * ```ts
 * const server: HttpServerLike = app.listen(3000);
 * ```
 */
export interface HttpServerLike {
  /** Adds a listener (`request`, `connection`, `close`). */
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  /** Removes a listener. */
  off(event: string, listener: (...args: unknown[]) => void): unknown;
  /** Emits an event (the coordinator wraps `request` to answer probes and refuse while draining). */
  emit(event: string | symbol, ...args: unknown[]): boolean;
  /** Stops accepting connections; the callback runs once every connection has ended. */
  close(callback?: (err?: Error) => void): unknown;
  /** Whether the server is accepting connections. */
  readonly listening: boolean;
  /** Closes the keep-alive sockets that carry no request (Node 18.2+). */
  closeIdleConnections?(): void;
  /** Destroys every socket (the deadline's force). */
  closeAllConnections?(): void;
}

/**
 * @internal How the listener is closed: `server.close()` by default; for a
 * Fastify app, `fastify.close()` (its `preClose` hooks, the server's close,
 * then its `onClose` hooks). Calls `done` once closed, with the error if
 * closing failed.
 */
export type CloseListener = (done: (err?: unknown) => void) => void;

/** Answers a probe request; returns `false` when the request is not a probe. @internal */
export type ProbeResponder = (req: IncomingMessage, res: ServerResponse) => boolean;

type Phase = 'serving' | 'draining' | 'refusing';

/**
 * @internal Tracks one server's sockets and requests and drains it (see
 * the states above).
 *
 * @example
 * ```ts
 * const drain = new HttpDrain(server, () => false);
 * drain.draining();
 * drain.stopAccepting();
 * await drain.drained();
 * ```
 */
export class HttpDrain {
  readonly server: HttpServerLike;
  /** Requests being served per socket (0: idle keep-alive socket). */
  readonly #sockets = new Map<Socket, number>();
  /** Responses in flight. */
  readonly #active = new Set<ServerResponse>();
  /** Sockets the drain ended: a request still read from one never reaches the application. */
  readonly #ended = new WeakSet<Socket>();
  readonly #probe: ProbeResponder;
  readonly #emit: HttpServerLike['emit'];
  #phase: Phase = 'serving';
  #listenerClosed = false;
  #onDrained: (() => void) | undefined;
  #refused = 0;
  #closeListener: CloseListener | undefined;
  #closeError: unknown;

  constructor(server: HttpServerLike, probe: ProbeResponder, closeListener?: CloseListener) {
    this.server = server;
    this.#probe = probe;
    this.#closeListener = closeListener;
    this.#emit = server.emit;
    const emit = this.#emit;
    const onRequest = (req: IncomingMessage, res: ServerResponse): boolean => this.#onRequest(req, res);
    server.on('connection', this.#onConnection);
    server.on('secureConnection', this.#onConnection);
    server.emit = function (this: HttpServerLike, event: string | symbol, ...args: unknown[]): boolean {
      if (event === 'request') return onRequest(args[0] as IncomingMessage, args[1] as ServerResponse);
      return emit.call(this, event, ...args);
    };
  }

  /** Requests in flight now. */
  get inFlight(): number {
    return this.#active.size;
  }

  /** Requests refused with a 503 because the server was draining. */
  get refused(): number {
    return this.#refused;
  }

  /** Closes the listener with `closeListener` instead of `server.close()` (a Fastify app's own close). */
  closeWith(closeListener: CloseListener): void {
    this.#closeListener = closeListener;
  }

  /** DRAINING: responses carry `Connection: close`; a socket is closed after its last response. */
  draining(): void {
    if (this.#phase !== 'serving') return;
    this.#phase = 'draining';
    for (const res of this.#active) if (!res.headersSent) res.setHeader('Connection', 'close');
  }

  /** REFUSING: closes the listener, ends idle sockets; new requests are refused with a 503. */
  stopAccepting(): void {
    this.draining();
    if (this.#phase === 'refusing') return;
    this.#phase = 'refusing';
    if (this.#closeListener !== undefined) {
      this.#closeListener((err) => {
        this.#closeError = err;
        this.#listenerClosed = true;
        this.#check();
      });
    } else if (this.server.listening) {
      this.server.close(() => {
        this.#listenerClosed = true;
        this.#check();
      });
    } else {
      this.#listenerClosed = true;
    }
    for (const [socket, busy] of this.#sockets) if (busy === 0) this.#end(socket);
    // Sockets opened before the drain was attached are not tracked: node closes its idle ones.
    this.server.closeIdleConnections?.();
  }

  /**
   * Resolves once the listener is closed and no request is in flight;
   * rejects when closing the listener failed (a Fastify `onClose` hook threw).
   */
  drained(): Promise<void> {
    const settle = (): Promise<void> =>
      this.#closeError === undefined ? Promise.resolve() : Promise.reject(this.#closeError);
    if (this.#isDrained()) return settle();
    return new Promise<void>((resolve) => {
      const previous = this.#onDrained;
      this.#onDrained = () => {
        previous?.();
        resolve();
      };
    }).then(settle);
  }

  /** Destroys every socket now (responses in flight are cut): the deadline passed. */
  force(): void {
    this.stopAccepting();
    for (const socket of this.#sockets.keys()) socket.destroy();
    this.server.closeAllConnections?.();
    this.#active.clear();
    this.#check();
  }

  /** Gives the server its own `emit` back and stops tracking. */
  detach(): void {
    this.server.emit = this.#emit;
    this.server.off('connection', this.#onConnection);
    this.server.off('secureConnection', this.#onConnection);
  }

  #end(socket: Socket): void {
    this.#ended.add(socket);
    socket.end();
  }

  #isDrained(): boolean {
    return this.#phase === 'refusing' && this.#listenerClosed && this.#active.size === 0;
  }

  #check(): void {
    if (!this.#isDrained() || this.#onDrained === undefined) return;
    const done = this.#onDrained;
    this.#onDrained = undefined;
    done();
  }

  readonly #onConnection = (...args: unknown[]): void => {
    const socket = args[0] as Socket;
    if (this.#phase === 'refusing') {
      socket.destroy();
      return;
    }
    this.#sockets.set(socket, 0);
    socket.once('close', () => this.#sockets.delete(socket));
  };

  #onRequest(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.#phase !== 'serving') res.setHeader('Connection', 'close');
    if (this.#probe(req, res)) return true;
    // A request read from a socket the drain ended (the client sent it as the socket closed)
    // never runs: no effect without an answer, so the client's retry cannot duplicate it.
    if (this.#phase === 'refusing' || this.#ended.has(req.socket)) {
      this.#refused++;
      res.writeHead(503, {
        Connection: 'close',
        'Retry-After': '0',
        'Content-Type': 'text/plain; charset=utf-8',
        [DRAINING_HEADER]: '1',
      });
      res.end('draining\n');
      return true;
    }
    const socket = req.socket;
    this.#sockets.set(socket, (this.#sockets.get(socket) ?? 0) + 1);
    this.#active.add(res);
    let done = false;
    const end = (): void => {
      if (done) return;
      done = true;
      this.#active.delete(res);
      const busy = (this.#sockets.get(socket) ?? 1) - 1;
      if (this.#sockets.has(socket)) this.#sockets.set(socket, busy);
      // A keep-alive socket whose response was already under way when the drain began.
      if (busy === 0 && this.#phase !== 'serving') this.#end(socket);
      this.#check();
    };
    res.once('finish', end);
    res.once('close', end);
    return this.#emit.call(this.server, 'request', req, res);
  }
}
