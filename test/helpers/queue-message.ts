import type { QueueOutgoingMessage } from '../../src/contracts/queue.js';

/**
 * An outgoing queue message for adapter-level tests: `id`, a JSON body
 * naming it, no headers, persistent, stamped now.
 */
export function outgoingMessage(id: string): QueueOutgoingMessage {
  return { id, body: JSON.stringify({ id }), headers: {}, persistent: true, timestamp: Date.now() };
}
