import type { StreamConsumer, StreamsContext } from './queue-consumer.js';
import { deliverEntry } from './queue-delivery.js';
import type { StreamEntry } from './queue-stream.js';

/**
 * @internal The claimer of the Redis Streams queue adapter: what keeps an
 * entry with the consumer that works on it, and moves it to another one when
 * that consumer stopped answering.
 *
 * - Each sweep (every `sweepIntervalMs`, and at once after a retry) resets
 *   the idle time of the entries this consumer holds (`XCLAIM ... 0`), so a
 *   slow handler's entry is never reclaimed.
 * - It then takes entries idle for `claimIdleMs` or more (`XAUTOCLAIM`):
 *   those of a consumer that died, and those a retry or a closing consumer
 *   marked idle on purpose; their delivery count comes from the
 *   pending-entries list (`XPENDING`).
 */

/** Resets the idle time of the entries consumer `c` holds: it is alive and still working on them. */
export async function refreshHeld(ctx: StreamsContext, c: StreamConsumer): Promise<void> {
  if (c.held.size === 0) return;
  await ctx.client.call('XCLAIM', c.key, c.options.group, ctx.consumerName, '0', ...c.held, 'JUSTID');
}

/** Refreshes held messages and claims idle ones (from dead consumers, or released by retry()). */
export async function sweep(ctx: StreamsContext, c: StreamConsumer): Promise<void> {
  const client = ctx.client;
  await refreshHeld(ctx, c);
  let cursor = '0-0';
  for (let rounds = 0; rounds < 10; rounds++) {
    const room = c.options.prefetch - c.held.size;
    if (room <= 0 || !c.open || !c.reading) return;
    // As bytes, like XREADGROUP (see queue-entry.ts).
    const [next, entries] = (await client.callBuffer(
      'XAUTOCLAIM',
      c.key,
      c.options.group,
      ctx.consumerName,
      String(ctx.claimIdleMs),
      cursor,
      'COUNT',
      String(room),
    )) as [Buffer, StreamEntry[], Buffer[]?];
    const claimed: Array<[string, Buffer[]]> = [];
    for (const e of entries) {
      if (e !== null && e[1] !== null) claimed.push([e[0].toString('latin1'), e[1]]);
    }
    if (claimed.length > 0) {
      const counts = await pendingCounts(
        ctx,
        c,
        claimed.map(([id]) => id),
      );
      for (const [id, fields] of claimed) {
        if (!c.open) break;
        deliverEntry(ctx, c, id, fields, counts.get(id) ?? 2);
      }
    }
    const nextCursor = next.toString('latin1');
    if (nextCursor === '0-0') return;
    cursor = nextCursor;
  }
}

async function pendingCounts(
  ctx: StreamsContext,
  c: StreamConsumer,
  ids: string[],
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const first = ids[0]!;
  const last = ids[ids.length - 1]!;
  const rows = (await ctx.client.call(
    'XPENDING',
    c.key,
    c.options.group,
    first,
    last,
    String(ids.length + 100),
    ctx.consumerName,
  )) as Array<[string, string, number, number]>;
  for (const [id, , , count] of rows) counts.set(id, Number(count));
  return counts;
}

/**
 * Hands the entries a closing consumer holds back to the group: idle at
 * once, so any consumer's next sweep takes them (the others sweep now).
 */
export async function handBack(ctx: StreamsContext, c: StreamConsumer): Promise<void> {
  await ctx.client
    .call(
      'XCLAIM',
      c.key,
      c.options.group,
      ctx.consumerName,
      '0',
      ...c.held,
      'IDLE',
      String(ctx.claimIdleMs + 1),
      'JUSTID',
    )
    .catch(() => {});
  for (const other of ctx.consumers) if (other.key === c.key) other.sweepNow = true;
}
