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
 * `perWrite` bounds how many of a tick's commands go in one write (the
 * first command of a tick is always written alone): for commands that cost
 * the server more than they cost the client to send (Lua scripts), one
 * write of a whole tick makes the client and the server take turns (the
 * server runs 50 scripts while the client waits, then the client handles 50
 * replies while the server waits); writes of a few commands each let them
 * work at once. Measured on the Redis lock at 50 in flight (docs/benchmarks.md):
 * one write per command 40.4 k cycles/s, one per tick less than that, in
 * writes of 8 commands 55.2 k/s, and less CPU on both sides.
 *
 * Applied to the connections scaleout creates, on every (re)connect; never
 * to a client the user passes in. A stream without `cork` is left as it is.
 *
 * @internal
 */
export function batchWritesPerTick(client: Redis, perWrite = Number.POSITIVE_INFINITY): void {
  // ioredis makes a new socket on every (re)connect and emits 'connect'
  // once it is set: patch each socket once.
  client.on('connect', () => corkPerTick(client.stream, perWrite));
}

function corkPerTick(stream: unknown, perWrite: number): void {
  if (!isCorkable(stream) || batched.has(stream)) return;
  batched.add(stream);
  const write = stream.write;
  // Commands written this tick: 0 none; 1 the first (written at once); more: corked.
  let count = 0;
  const endOfTick = (): void => {
    if (count > 1) stream.uncork();
    count = 0;
  };
  stream.write = function (this: CorkableStream, ...args: never[]): boolean {
    count += 1;
    if (count === 1) {
      process.nextTick(endOfTick);
      return write.apply(this, args);
    }
    if (count === 2) stream.cork();
    const ok = write.apply(this, args);
    // Every perWrite corked commands go out as one write; the tick's rest stays corked.
    if ((count - 1) % perWrite === 0) {
      stream.uncork();
      stream.cork();
    }
    return ok;
  };
}
