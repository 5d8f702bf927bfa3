import { redisFailure } from './connection.js';
import { releaseHeld, type StreamConsumer, type StreamsContext } from './queue-consumer.js';
import { readStreamEntry, streamFields } from './queue-entry.js';

/**
 * @internal One stream entry handed to a consumer, and how it is settled:
 * `ack` (`XACK`), `retry` (left pending and marked idle, so the next sweep
 * delivers it again with its count raised) or `deadLetter` (appended to the
 * dead-letter topic's stream, then acknowledged). Each settles once and gives
 * the prefetch slot back whatever happened.
 */

/** Delivers the entry `entryId` to consumer `c`, unless it holds it already. */
export function deliverEntry(
  ctx: StreamsContext,
  c: StreamConsumer,
  entryId: string,
  fields: readonly Buffer[],
  pelCount: number,
): void {
  if (c.held.has(entryId)) return;
  c.held.add(entryId);
  // Read as strictly as written: an entry another program wrote is flagged
  // malformed (the consumer dead-letters it) and its fields kept verbatim.
  const { id, body, headers, timestamp, malformed } = readStreamEntry(entryId, fields);
  let settled = false;
  const release = () => releaseHeld(c, entryId);
  // Runs a settling command, then gives the prefetch slot back whatever
  // happened. If the command failed, the message stays pending but is no
  // longer refreshed by the sweep, so it is reclaimed after `claimIdleMs`
  // and delivered again (at least once), instead of being held forever.
  const settle = async (operation: string, run: () => Promise<unknown>) => {
    try {
      await run();
    } catch (err) {
      throw redisFailure(`Redis Streams ${operation}`, err, c.key);
    } finally {
      release();
    }
  };
  const ack = () => ctx.client.call('XACK', c.key, c.options.group, entryId);
  c.onDelivery({
    id,
    topic: c.topic,
    body,
    headers,
    // The broker's own count (the pending-entries list): retries leave the
    // entry pending, so no header is trusted (an x-scaleout-failures header
    // on an entry was written by someone else).
    deliveryCount: pelCount,
    publishedAt: timestamp,
    malformed,
    ack: async () => {
      if (settled) return;
      settled = true;
      await settle('ack', ack);
    },
    retry: async () => {
      if (settled) return;
      settled = true;
      // Stays pending; marked idle so that the next sweep delivers it again
      // (XAUTOCLAIM raises its delivery count).
      await settle('retry', () =>
        ctx.client.call(
          'XCLAIM',
          c.key,
          c.options.group,
          ctx.consumerName,
          '0',
          entryId,
          'IDLE',
          String(ctx.claimIdleMs + 1),
          'JUSTID',
        ),
      );
      c.sweepNow = true;
    },
    deadLetter: async (extra) => {
      if (settled) return;
      settled = true;
      await settle('dead-letter', async () => {
        const dead = c.options.deadLetterTopic;
        if (dead !== undefined) {
          const deadKey = ctx.streams.key(dead);
          const fields = streamFields({ id, body, headers: { ...headers, ...extra }, timestamp });
          await ctx.streams.append(deadKey, fields).catch((err: unknown) => {
            throw redisFailure('Redis Streams dead-letter', err, deadKey);
          });
        }
        await ack();
      });
    },
  });
}
