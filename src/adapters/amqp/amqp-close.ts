import type { ChannelModel } from 'amqplib';
import { waitOrAbort } from '../../internal/abort.js';

/**
 * @internal How long the close handshake (channel.close / connection.close
 * and their close-ok) may take at least, in ms, even when the deadline of
 * `close()` has already passed: a broker that answers closes cleanly in a
 * round trip or two; one that does not is cut off after this.
 */
export const CLOSE_HANDSHAKE_FLOOR_MS = 1_000;

/**
 * @internal Waits for `work` until `deadline` has passed, but at least
 * {@link CLOSE_HANDSHAKE_FLOOR_MS} from now (or `floorMs`). Resolves true
 * if `work` settled in time (a rejection counts: it is the caller's to
 * report), false if the time ran out. No timer is left behind.
 *
 * @example
 * ```ts
 * if (!(await finishedBy(closeChannels(), deadline.passed))) destroySocket(model, 'closing');
 * ```
 */
export async function finishedBy(
  work: Promise<unknown>,
  deadline: Promise<void>,
  floorMs: number = CLOSE_HANDSHAKE_FLOOR_MS,
): Promise<boolean> {
  const floor = waitOrAbort(floorMs, undefined);
  try {
    return await Promise.race([
      work.then(
        () => true,
        () => true,
      ),
      Promise.all([floor.passed, deadline]).then(() => false),
    ]);
  } finally {
    floor.cancel();
  }
}

/**
 * @internal The steps of a close still running, by name, so that a close
 * cut off by its deadline can say what did not finish.
 *
 * @example
 * ```ts
 * const steps = new CloseSteps();
 * await steps.run('closing the confirm channel', pub.close());
 * steps.unfinished; // [] once it answered
 * ```
 */
export class CloseSteps {
  readonly #running = new Map<string, number>();

  /** Runs `work` under `name`; rejections are swallowed (a close goes on). */
  async run(name: string, work: Promise<unknown> | (() => Promise<unknown>)): Promise<void> {
    this.#running.set(name, (this.#running.get(name) ?? 0) + 1);
    try {
      await (typeof work === 'function' ? work() : work);
    } catch {
      // A close goes on past a step that failed: the connection is closed after it anyway.
    } finally {
      const left = (this.#running.get(name) ?? 1) - 1;
      if (left === 0) this.#running.delete(name);
      else this.#running.set(name, left);
    }
  }

  /** The steps still waiting for the broker. */
  get unfinished(): string[] {
    return [...this.#running.keys()];
  }
}

/** The part of amqplib's connection (lib/connection.js) that holds the socket. */
interface WithStream {
  connection?: { stream?: { destroyed?: boolean; destroy?(error?: Error): void } };
}

/**
 * @internal Destroys the socket under an amqplib connection (amqplib keeps
 * it as `model.connection.stream`). With an error, so that amqplib's own
 * socket-error path runs: its channels close, its heartbeat timers are
 * cleared and the connection emits `close` (a destroy without one would
 * leave amqplib's heartbeat intervals, which are not unref'd, running).
 * Returns whether there was a socket to destroy.
 *
 * @example
 * ```ts
 * destroySocket(session.model, 'the broker did not answer the close');
 * ```
 */
export function destroySocket(model: ChannelModel, reason: string): boolean {
  const stream = (model as unknown as WithStream).connection?.stream;
  if (stream === undefined || typeof stream.destroy !== 'function' || stream.destroyed === true) return false;
  stream.destroy(new Error(reason));
  return true;
}
