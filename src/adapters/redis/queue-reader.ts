import { raceAbort } from '../../internal/abort.js';
import { sleep, unrefTimeout } from '../../internal/timers.js';
import { fullJitterBackoff } from '../../resilience/backoff.js';
import { isCluster, type RedisClient, redisFailure } from './connection.js';
import { refreshHeld, sweep } from './queue-claimer.js';
import type { StreamConsumer, StreamsContext } from './queue-consumer.js';
import { deliverEntry } from './queue-delivery.js';
import { isError, type StreamEntry } from './queue-stream.js';

/**
 * @internal The read loop of one Redis Streams consumer, on its own
 * blocking connection. Each turn: sweep when due (queue-claimer.ts); wait
 * while `prefetch` entries are held; else read new entries
 * (`XREADGROUP ... BLOCK`) and deliver them. A lost group is created again;
 * any other failure is reported and retried with backoff: the loop ends only
 * when the consumer or the adapter closes. Once `stopDelivering()` turned
 * `reading` off, a turn only refreshes the entries still held (their
 * handlers are finishing) and waits.
 */

/**
 * The ioredis `commandTimeout` of a client (a Cluster's is in its
 * `redisOptions`), if one is set. It applies to blocking reads too.
 */
function commandTimeoutOf(client: RedisClient): number | undefined {
  const options = (
    client as { options?: { commandTimeout?: unknown; redisOptions?: { commandTimeout?: unknown } } }
  ).options;
  const timeout = options?.commandTimeout ?? options?.redisOptions?.commandTimeout;
  return typeof timeout === 'number' && timeout > 0 ? timeout : undefined;
}

/**
 * The `CLIENT ID` of a standalone reader connection (what `CLIENT UNBLOCK`
 * takes), or -1: a Cluster's reads go to several nodes, and a server may
 * refuse CLIENT to this user; a stop then waits for the read's BLOCK to end.
 */
async function clientIdOf(reader: RedisClient): Promise<number> {
  if (isCluster(reader)) return -1;
  try {
    const id = Number(await reader.call('CLIENT', 'ID'));
    return Number.isSafeInteger(id) && id > 0 ? id : -1;
  } catch {
    return -1;
  }
}

/**
 * Waits until woken (a settled entry, a stop) or for `ms`; returns at once
 * if the consumer is closed, or (`reading`) has stopped reading.
 */
function pause(c: StreamConsumer, ms: number, reading: boolean): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = unrefTimeout(resolve, ms);
    c.wake = () => {
      timer.cancel();
      resolve();
    };
    if (!c.open || (reading && !c.reading)) c.wake();
  }).finally(() => {
    c.wake = undefined;
  });
}

/** Runs consumer `c` until it or the adapter closes. */
export async function runReader(ctx: StreamsContext, c: StreamConsumer): Promise<void> {
  try {
    await readLoop(ctx, c);
  } finally {
    c.markReadsStopped();
  }
}

async function readLoop(ctx: StreamsContext, c: StreamConsumer): Promise<void> {
  const backoff = fullJitterBackoff({ baseMs: 50, maxMs: 2_000 });
  // A blocking read must end well within the client's commandTimeout: a
  // read that timed out on the client still takes messages on the server,
  // which then wait in the pending list until reclaimed (`claimIdleMs`).
  const timeout = commandTimeoutOf(c.reader);
  const block = Math.min(
    ctx.blockMs,
    ctx.sweepIntervalMs,
    timeout === undefined ? Number.POSITIVE_INFINITY : Math.max(1, Math.floor(timeout / 2)),
  );
  let failures = 0;
  // The first turn sweeps (messages left by a consumer that died before this one started).
  let lastSweep = Number.NEGATIVE_INFINITY;
  while (c.open && !ctx.closed) {
    try {
      const now = ctx.clock.monotonic();
      if (!c.reading) {
        // Stopping: nothing more is read or claimed; what is held is kept
        // fresh (not reclaimed by another consumer) until it is settled.
        c.markReadsStopped();
        if (now - lastSweep >= ctx.sweepIntervalMs) {
          lastSweep = now;
          await refreshHeld(ctx, c);
        }
        await pause(c, ctx.sweepIntervalMs, false);
        continue;
      }
      if (c.sweepNow || now - lastSweep >= ctx.sweepIntervalMs) {
        c.sweepNow = false;
        lastSweep = now;
        await sweep(ctx, c);
      }
      if (c.held.size >= c.options.prefetch) {
        // Full: wait for a slot, but wake for the next sweep (it refreshes held messages).
        await pause(c, ctx.sweepIntervalMs, true);
        continue;
      }
      c.readerId ??= await clientIdOf(c.reader);
      // Checked again right before the read: a stop may have come meanwhile.
      if (!c.reading || !c.open) continue;
      const room = c.options.prefetch - c.held.size;
      // Raced against close: after disconnect() an ioredis Cluster can park a
      // command in its offline queue for good (a retry scheduled before the
      // disconnect finds no node), and close() must not wait for it.
      // As bytes: a field that is not UTF-8 must not be read as U+FFFD.
      const read = c.reader.callBuffer(
        'XREADGROUP',
        'GROUP',
        c.options.group,
        ctx.consumerName,
        'COUNT',
        String(room),
        'BLOCK',
        String(block),
        'STREAMS',
        c.key,
        '>',
      ) as Promise<Array<[Buffer, StreamEntry[]]> | null>;
      const reply = await raceAbort(read, c.stop.signal);
      failures = 0;
      if (reply === null || !c.open) continue;
      for (const [, entries] of reply) {
        for (const [id, fields] of entries) {
          if (fields !== null) deliverEntry(ctx, c, id.toString('latin1'), fields, 1);
        }
      }
    } catch (err) {
      if (!c.open || ctx.closed) return;
      if (isError(err, 'NOGROUP') || isError(err, 'UNBLOCKED')) {
        // The group vanished (Redis restarted without its data, or the
        // stream was deleted under a blocked read): recreate it.
        ctx.streams.forgetGroup(c.key, c.options.group);
        await ctx.streams.ensureGroup(c.key, c.options.group, '0').catch(() => {});
        continue;
      }
      // Reported (a key of another type is a CorruptDataError, not an
      // outage) and retried with backoff: the consumer never stops.
      const failure = redisFailure('Redis Streams read', err, c.key);
      ctx.logger?.warn?.('Redis Streams read failed; retrying', {
        topic: c.topic,
        error: err instanceof Error ? err.message : String(err),
      });
      try {
        c.options.onError?.(failure);
      } catch {
        // A listener's failure must not stop the read loop.
      }
      await sleep(backoff(failures++), { signal: ctx.stopSignal, unref: true }).catch(() => {});
    }
  }
}
