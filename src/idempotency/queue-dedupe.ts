import { CorruptDataError, InvalidArgumentError } from '../errors.js';
import type { MessageContext } from '../queue/message-queue-options.js';
import { Idempotency } from './idempotency.js';

type Handler<T> = (message: T, context: MessageContext) => unknown;

/**
 * @internal The consumer side of `queue.consume(topic, handler, { dedupe })`:
 * wraps `handler` so that a message whose id this topic and consumer group
 * already processed is acknowledged without calling it again (a
 * redelivery after a consumer died between its effect and its ack).
 *
 * Per message, with the key `queue:<topic>:<group>:<message id>`:
 * - the first delivery claims the key, runs the handler, then stores
 *   "done" for the Idempotency's `ttlMs`, and only then is acknowledged;
 * - a handler that throws releases the claim: the queue's retry runs it;
 * - a redelivery of a done message resolves at once (acknowledged, the
 *   `replayed` event fires, the handler is not called);
 * - a redelivery while another consumer still holds the claim waits up to
 *   the Idempotency's `leaseMs` for it, then throws
 *   `IdempotencyConflictError` (the queue retries it later).
 *
 * A consumer killed after its effect and before "done" was stored leaves
 * the claim to expire after `leaseMs`; the redelivery after that runs the
 * handler again. Keep effects that must never repeat in the same store
 * transaction as their own record, or make them idempotent by the message id.
 */
export function dedupeHandler<T>(
  handler: Handler<T>,
  dedupe: unknown,
  where: { topic: string; group: string },
): Handler<T> {
  if (!(dedupe instanceof Idempotency)) {
    throw new InvalidArgumentError(
      'dedupe must be an Idempotency: { dedupe: new Idempotency({ adapter }) }',
      {
        argument: 'dedupe',
      },
    );
  }
  const keys = dedupe;
  const prefix = `queue:${where.topic}:${where.group}:`;
  return async (message, context) => {
    const key = `${prefix}${context.id}`;
    const begun = await keys.begin({ key, fingerprint: '', source: 'queue', waitMs: keys.leaseMs });
    if (begun.kind === 'replay') {
      if (begun.result.kind !== 'value') {
        throw new CorruptDataError(`idempotency record "${key}" is not a processed-message mark`, { key });
      }
      keys.internals.emit('replayed', { key, source: 'queue' });
      return;
    }
    const { claim } = begun;
    try {
      await handler(message, context);
    } catch (err) {
      await claim.release('failed');
      throw err;
    }
    await claim.complete({ kind: 'value', text: undefined }, keys.ttlMs);
  };
}
