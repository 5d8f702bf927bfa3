import type { ChannelModel } from 'amqplib';
import { connect } from 'amqplib';
import { InvalidOptionsError } from '../../errors.js';
import { redactUrl } from '../../internal/redact.js';
import { timerMs } from '../../internal/timers.js';
import type { Backoff } from '../../resilience/backoff.js';

/**
 * @internal Several RabbitMQ nodes (the members of one cluster) behind one
 * adapter: which node to dial next, and how long to wait before it.
 *
 * The adapter dials one node at a time. When that connection is lost (the
 * node died, was stopped, or a partition cut it off) it dials the next node
 * in the list at once, then the one after it, and only when every node of a
 * round has failed does it wait (capped full-jitter backoff, one step per
 * round). A node that comes back is used again when its turn comes; there
 * is no fail-back to the first node while another one works.
 *
 * With `shuffle`, each adapter walks the nodes in its own random order, so
 * that a fleet of processes spreads its connections over the cluster (and
 * does not all fail over to the same second node).
 */

/** How an adapter orders the nodes it dials. */
export type NodeOrder = 'shuffle' | 'in-order';

/** Every value of {@link NodeOrder}. */
export const NODE_ORDERS: readonly NodeOrder[] = ['shuffle', 'in-order'];

/** One node to dial: its URL, and the same URL without credentials (for errors and logs). */
export interface BrokerNode {
  readonly url: string;
  /** `redactUrl(url)`: safe in errors, logs and events. */
  readonly where: string;
}

/** Most URLs one adapter takes. */
export const MAX_NODE_URLS = 64;

/**
 * Checks the `url` option: one `amqp://`/`amqps://` URL or a non-empty
 * array of them (no duplicates). Error messages carry redacted URLs only.
 */
export function nodeUrls(url: unknown): string[] {
  const list = typeof url === 'string' ? [url] : url;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_NODE_URLS) {
    throw new InvalidOptionsError(
      `url must be an amqp:// or amqps:// URL, or an array of 1 to ${MAX_NODE_URLS} of them (the cluster's nodes)`,
      { option: 'url' },
    );
  }
  const seen = new Set<string>();
  for (const [i, item] of list.entries()) {
    const at = typeof url === 'string' ? '' : ` (url[${i}])`;
    if (typeof item !== 'string' || !/^amqps?:\/\//.test(item) || item.length > 2_048) {
      throw new InvalidOptionsError(
        `url must start with amqp:// or amqps://${at} (got ${typeof item === 'string' ? redactUrl(item) : typeof item})`,
        { option: 'url' },
      );
    }
    if (seen.has(item)) {
      throw new InvalidOptionsError(`url lists ${redactUrl(item)} twice${at}`, { option: 'url' });
    }
    seen.add(item);
  }
  return list as string[];
}

/**
 * The nodes of one adapter, in the order it dials them.
 *
 * @example
 * ```ts
 * const nodes = new NodeFailover(['amqp://a', 'amqp://b'], 'in-order');
 * const first = nodes.next(); // amqp://a, then amqp://b, then amqp://a...
 * ```
 */
export class NodeFailover {
  readonly #nodes: BrokerNode[];
  #cursor = 0;

  constructor(urls: readonly string[], order: NodeOrder, random: () => number = Math.random) {
    const nodes = urls.map((url) => ({ url, where: redactUrl(url) }));
    if (order === 'shuffle') {
      // Fisher-Yates: every order equally likely.
      for (let i = nodes.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [nodes[i], nodes[j]] = [nodes[j]!, nodes[i]!];
      }
    }
    this.#nodes = nodes;
  }

  /** How many nodes there are. */
  get size(): number {
    return this.#nodes.length;
  }

  /** Every node, redacted, in dialling order (for messages). */
  get where(): string {
    return this.#nodes.map((n) => n.where).join(', ');
  }

  /**
   * The node to dial now. Successive calls go round the list, so the dial
   * after a lost connection goes to the node after the one that was lost.
   */
  next(): BrokerNode {
    const node = this.#nodes[this.#cursor]!;
    this.#cursor = (this.#cursor + 1) % this.#nodes.length;
    return node;
  }

  /**
   * Delay before dial number `attempt` (0 for the first since the last
   * connection): none while nodes of the current round are untried, then
   * `backoff(round)` before each new round.
   */
  delayBefore(attempt: number, backoff: Backoff): number {
    if (attempt === 0 || attempt % this.#nodes.length !== 0) return 0;
    return backoff(attempt / this.#nodes.length - 1);
  }
}

/**
 * Opens an amqplib connection to `node`, giving up after `timeoutMs` (TCP
 * connect and AMQP handshake: a node whose host is gone must not hold the
 * failover for the OS's connect timeout).
 */
export function dialNode(node: BrokerNode, timeoutMs: number): Promise<ChannelModel> {
  // amqplib arms it as the socket's idle timeout (reset by any byte), which node cuts to 1 ms
  // past ~24.8 days and which cannot be re-armed from here: capped, a dial silent that long ends
  // at ~24.8 days rather than at the full connectTimeoutMs.
  return connect(node.url, { timeout: timerMs(timeoutMs) });
}
