/**
 * The worker side of the multi-process test harness (the parent side is
 * `startWorkers` / `startWorker` in `test/helpers/workers.ts`, which also
 * describes the protocol).
 * @module
 */

/** A worker's typed message channel to its parent: `In` arrives, `Out` leaves. */
export interface WorkerChannel<In = unknown, Out = unknown> {
  /** Sends a message the parent takes with `next`. */
  send(message: Out): void;
  /**
   * Takes the first message from the parent not taken yet (already arrived
   * or to come) that matches `match` (any message if omitted). Rejects after
   * `timeoutMs` (default: never).
   */
  receive<M extends In>(match: (m: In) => m is M, timeoutMs?: number): Promise<M>;
  receive(match?: (m: In) => boolean, timeoutMs?: number): Promise<In>;
}

interface Channel extends WorkerChannel {
  readonly go: Promise<unknown>;
}

let channel: Channel | undefined;

function open(): Channel {
  if (channel !== undefined) return channel;
  if (process.send === undefined) throw new Error('a worker must run in a process forked by startWorker(s)');
  const send = process.send.bind(process);
  const inbox: unknown[] = [];
  const waiters = new Set<() => void>();
  let release: (payload: unknown) => void = () => {};
  const go = new Promise<unknown>((resolve) => {
    release = resolve;
  });
  process.on('message', (m: { type?: string; payload?: unknown; data?: unknown }) => {
    if (m.type === 'go') release(m.payload);
    else if (m.type === 'message') {
      inbox.push(m.data);
      for (const w of [...waiters]) w();
    }
  });
  // The parent is gone: nobody will read a result, so do not linger as an orphan.
  process.once('disconnect', () => process.exit(1));
  const receive = (match: (m: unknown) => boolean = () => true, timeoutMs?: number) =>
    new Promise<unknown>((resolve, reject) => {
      const attempt = () => {
        const i = inbox.findIndex(match);
        if (i === -1) return;
        waiters.delete(attempt);
        if (timer !== undefined) clearTimeout(timer);
        resolve(inbox.splice(i, 1)[0]);
      };
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              waiters.delete(attempt);
              reject(new Error(`worker ${process.pid} waited ${timeoutMs} ms for a message from the parent`));
            }, timeoutMs);
      waiters.add(attempt);
      attempt();
    });
  channel = {
    go,
    send: (message) => send({ type: 'message', data: message }),
    receive: receive as WorkerChannel['receive'],
  };
  return channel;
}

/**
 * This worker's channel to its parent. Usable before {@link workerMain} is
 * called (say, to report events from the worker's setup); it is the same
 * channel `workerMain` passes to its body.
 *
 * @example
 * const channel = workerChannel<never, { event: string }>();
 * registry.on('change', (c) => channel.send({ event: 'change' }));
 */
export function workerChannel<In = unknown, Out = unknown>(): WorkerChannel<In, Out> {
  return open() as WorkerChannel<In, Out>;
}

/**
 * The worker side of `startWorkers` / `startWorker`: report ready, wait for
 * `go`, run `body` with the go payload and the channel to the parent, send
 * its result (or the error's stack), then exit (0 or 1). Do the worker's setup
 * (connections, listeners) before calling it, so that "ready" means ready.
 * A long-lived worker's body loops on `channel.receive()` or waits for a
 * signal, and returns when told to stop.
 *
 * @example
 * workerMain<{ closed: true }, Command, Reply>(async (_payload, channel) => {
 *   for (;;) {
 *     const m = await channel.receive();
 *     if (m.cmd === 'close') return { closed: true };
 *     channel.send({ type: 'get', value: await cache.get(m.key) });
 *   }
 * });
 */
export function workerMain<T, In = unknown, Out = unknown>(
  body: (payload: unknown, channel: WorkerChannel<In, Out>) => Promise<T>,
): void {
  const c = open();
  const send = process.send!.bind(process);
  c.go
    .then((payload) => body(payload, c as WorkerChannel<In, Out>))
    .then(
      (data) => send({ type: 'result', data }, () => process.exit(0)),
      (err: unknown) =>
        send({ type: 'error', message: String((err as Error)?.stack ?? err) }, () => process.exit(1)),
    );
  send({ type: 'ready' });
}
