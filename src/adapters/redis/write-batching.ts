import type { Redis } from 'ioredis';

/** The part of a socket (net or TLS) that {@link batchWritesPerTick} uses. */
interface CorkableStream {
  write: (...args: never[]) => boolean;
  cork(): void;
  uncork(): void;
}

const batched = new WeakSet<object>();

function isCorkable(stream: unknown): stream is CorkableStream {
  return (
    typeof stream === 'object' &&
    stream !== null &&
    typeof (stream as CorkableStream).write === 'function' &&
    typeof (stream as CorkableStream).cork === 'function' &&
    typeof (stream as CorkableStream).uncork === 'function'
  );
}

/**
 * Sends the commands a connection is given in one tick (and the microtasks
 * that tick runs) in at most two socket writes instead of one write each:
 * the first command of a tick is written at once, as before; the socket is
 * then corked, so that the tick's further commands are buffered, and
 * uncorked on `process.nextTick`, which hands them to the kernel as one
 * `writev`. Redis then reads them in one go and answers in one go.
 *
 * This is what node-redis does for every command (connect-redis runs on it),
 * and what ioredis' `enableAutoPipelining` does through a pipeline object
 * and a `setImmediate` per batch. Measured at 50 reads in flight on one
 * connection (docs/benchmarks.md), corking cost far less client CPU than
 * auto-pipelining, and a lone command is not held back to the next turn of
 * the event loop (auto-pipelining defers even a single command to
 * `setImmediate`). Replies, their order, errors and timeouts are those of
 * the unbatched connection: only how requests reach the socket changes.
 *
 * Applied to the connections scaleout creates, on every (re)connect; never
 * to a client the user passes in. A stream without `cork` is left as it is.
 *
 * @internal
 */
export function batchWritesPerTick(client: Redis): void {
  // ioredis makes a new socket on every (re)connect and emits 'connect'
  // once it is set: patch each socket once.
  client.on('connect', () => corkPerTick(client.stream));
}

function corkPerTick(stream: unknown): void {
  if (!isCorkable(stream) || batched.has(stream)) return;
  batched.add(stream);
  const write = stream.write;
  // 0: nothing written this tick; 1: one command written; 2: corked.
  let state = 0;
  const endOfTick = (): void => {
    if (state === 2) stream.uncork();
    state = 0;
  };
  stream.write = function (this: CorkableStream, ...args: never[]): boolean {
    if (state === 0) {
      state = 1;
      process.nextTick(endOfTick);
    } else if (state === 1) {
      state = 2;
      stream.cork();
    }
    return write.apply(this, args);
  };
}
