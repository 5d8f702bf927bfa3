import type { Channel, ChannelModel, ConfirmChannel } from 'amqplib';
import type { QueueConnectionState } from '../../contracts/queue.js';
import { ClosedError, ConnectionError } from '../../errors.js';
import { raceAbort, withTimeout } from '../../internal/abort.js';
import { captureContext } from '../../internal/async-context.js';
import { sleep } from '../../internal/timers.js';
import { ConnectionWatchers } from '../../queue/connection-state.js';
import type { Backoff } from '../../resilience/backoff.js';
import type { Logger } from '../../types.js';
import { CloseSteps, destroySocket } from './amqp-close.js';
import { channelAlive, markClosedOnClose, trackReturns } from './amqp-confirm.js';
import { dialNode } from './amqp-failover.js';
import type { AmqpDial } from './amqp-queue-adapter-options.js';

/**
 * @internal The connection of the RabbitMQ adapter: dialling, failover and
 * the publisher's confirm channel.
 *
 * ## States
 *
 * ```
 *            ready()                 dial ok, confirm channel +
 *  ┌──────┐ ─────────▶ ┌────────────┐  exchanges declared   ┌───────────┐
 *  │ idle │            │ connecting │ ────────────────────▶ │ connected │
 *  └──────┘            └────────────┘                       └───────────┘
 *                        ▲   │ dial failed: next node          │  │
 *                        │   └─ (backoff after a full round) ──┘  │ 'close' on the
 *                        │                                        │ connection
 *                        └────────────── lost ◀───────────────────┘
 *   any state ── close() ──▶ closed (final)
 * ```
 *
 * - **idle**: no session yet (nothing published or consumed). The first
 *   `ready()` starts connecting.
 * - **connecting**: one loop at a time (`#connecting`: every caller of
 *   `ready()` shares it), run in the adapter's own async context, not that
 *   of the publish that needed it. With several nodes it dials the next one
 *   at once and waits (capped full-jitter backoff) only after a whole round
 *   failed (amqp-failover.ts); with one URL or a factory, a backoff between
 *   attempts. A *given* connection is used once: when it closes, there is
 *   nothing to dial, and `ready()` fails with `ConnectionError`.
 * - **connected**: `#session.alive`. Publishes take the confirm channel
 *   `session.pub`; a channel-level error or a nack closes that channel and a
 *   new one replaces it on the same connection (`declared` topology is
 *   forgotten then, so queues are declared again). `onConnected` resumes
 *   every consumer on the new connection.
 * - **lost**: the connection's `close` event. `alive` goes false at once, so
 *   no delivery tag of the dead connection is ever acknowledged (`onLost`
 *   drops the consumers' channels), and a reconnect starts in the background
 *   so consumers resume without waiting for a publish.
 * - **closed**: final. The loop stops at its next step, a connection opened
 *   meanwhile is closed, `ready()` rejects with `ClosedError`; `close()`
 *   waits (bounded) for the confirms in flight, then closes the connection
 *   if the adapter opened it (a given connection is the caller's).
 */

/** One live connection and what was set up on it. */
export interface Session {
  model: ChannelModel;
  /** The node (redacted URL) or the given connection. */
  where: string;
  pub: ConfirmChannel;
  /** Topology declared on this connection (queue/binding keys). */
  declared: Set<string>;
  alive: boolean;
}

/** A node could not be dialled: a ConnectionError that names it (redacted). */
class DialError extends ConnectionError {
  readonly where: string;
  constructor(message: string, where: string, cause: unknown) {
    super(message, { cause });
    this.name = 'ConnectionError';
    this.where = where;
  }
}

/** What the connection needs from the adapter. */
export interface AmqpConnectionOptions {
  dial: AmqpDial;
  backoff: Backoff;
  logger: Logger | undefined;
  /** Declares what every connection needs before use (the exchanges). */
  setUp(channel: Channel): Promise<void>;
  /** The connection was lost: consumers' channels are gone with it. */
  onLost(): void;
  /** A new connection is up: consumers start on it. */
  onConnected(): void;
}

/**
 * The adapter's connection (see the states above).
 *
 * @example
 * ```ts
 * const connection = new AmqpConnection({ dial, backoff, logger, setUp, onLost, onConnected });
 * const session = await connection.ready();
 * ```
 */
export class AmqpConnection {
  readonly #dial: AmqpDial;
  readonly #owned: boolean;
  readonly #where: string;
  readonly #backoff: Backoff;
  readonly #logger: Logger | undefined;
  readonly #setUp: (channel: Channel) => Promise<void>;
  readonly #onLost: () => void;
  readonly #onConnected: () => void;
  readonly #stop = new AbortController();
  #session: Session | undefined;
  #connecting: Promise<Session> | undefined;
  /**
   * The context the adapter was made in. The connection (its socket events,
   * channel events and reconnects) is opened in it, not in that of the
   * publish or consume that happened to need it first.
   */
  readonly #background = captureContext();
  #closed = false;
  #reconnects = 0;
  #usedGivenConnection = false;
  /** The state as `MessageQueue` reads it, told to watchers on each change. */
  readonly watchers = new ConnectionWatchers(() => this.#state());

  constructor(options: AmqpConnectionOptions) {
    const dial = options.dial;
    this.#dial = dial;
    this.#owned = dial.kind !== 'given';
    this.#where =
      dial.kind === 'nodes'
        ? dial.nodes.where
        : dial.kind === 'factory'
          ? 'the given connection factory'
          : 'the given connection';
    this.#backoff = options.backoff;
    this.#logger = options.logger;
    this.#setUp = options.setUp;
    this.#onLost = options.onLost;
    this.#onConnected = options.onConnected;
  }

  /** Where it connects (redacted URLs, or which given connection). */
  get where(): string {
    return this.#where;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Aborted on `close()`: pending pauses end. */
  get stopSignal(): AbortSignal {
    return this.#stop.signal;
  }

  /** The session, live or not (undefined before the first connection and after close). */
  get session(): Session | undefined {
    return this.#session;
  }

  /** Times a lost connection was re-established. */
  get reconnects(): number {
    return this.#reconnects;
  }

  /** Whether a connection is up right now. */
  get connected(): boolean {
    return this.#session?.alive === true;
  }

  /**
   * The connection's state: `closed` after close(); `connected` while a
   * session is alive; `disconnected` once one was lost (reconnecting);
   * `connecting` before the first one is up; `idle` before anything asked
   * for one.
   */
  #state(): QueueConnectionState {
    if (this.#closed) return 'closed';
    if (this.#session?.alive === true) return 'connected';
    if (this.#session !== undefined) return 'disconnected';
    return this.#connecting === undefined ? 'idle' : 'connecting';
  }

  /** The live session, connecting (with backoff, until closed) when there is none. */
  ready(): Promise<Session> {
    if (this.#closed) return Promise.reject(new ClosedError('queue adapter is closed'));
    if (this.#session?.alive) return Promise.resolve(this.#session);
    if (this.#connecting === undefined) {
      this.#connecting = this.#background(() =>
        this.#connectLoop().finally(() => {
          this.#connecting = undefined;
          this.watchers.update();
        }),
      );
      this.watchers.update();
    }
    return this.#connecting;
  }

  /** The live session once its confirm channel is open. */
  async publisher(signal: AbortSignal | undefined): Promise<Session> {
    for (;;) {
      const session = await raceAbort(this.ready(), signal);
      if (session.pub !== undefined && channelAlive(session.pub)) return session;
      await sleep(10, { signal, unref: true });
    }
  }

  async #connectLoop(): Promise<Session> {
    for (let attempt = 0; ; attempt++) {
      if (this.#closed) throw new ClosedError('queue adapter is closed');
      // Several nodes: the next one at once, a backoff between rounds (amqp-failover.ts).
      const delay =
        this.#dial.kind === 'nodes'
          ? this.#dial.nodes.delayBefore(attempt, this.#backoff)
          : attempt === 0
            ? 0
            : this.#backoff(attempt - 1);
      if (delay > 0) await sleep(delay, { signal: this.#stop.signal, unref: true }).catch(() => {});
      if (this.#closed) throw new ClosedError('queue adapter is closed');
      try {
        return await this.#connectOnce();
      } catch (err) {
        if (this.#closed) throw new ClosedError('queue adapter is closed');
        if (this.#dial.kind === 'given' && this.#usedGivenConnection) throw err;
        this.#logger?.warn?.('AMQP connect failed; retrying', {
          broker: err instanceof DialError ? err.where : this.#where,
          attempt,
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }
  }

  /** Opens a connection the way the options say; names the node (redacted). */
  async #open(): Promise<{ model: ChannelModel; where: string }> {
    const dial = this.#dial;
    if (dial.kind === 'nodes') {
      const node = dial.nodes.next();
      try {
        return { model: await dialNode(node, dial.connectTimeoutMs), where: node.where };
      } catch (err) {
        throw new DialError(`cannot connect to RabbitMQ at ${node.where}`, node.where, err);
      }
    }
    if (dial.kind === 'factory') {
      try {
        return { model: await dial.open(), where: this.#where };
      } catch (err) {
        if (err instanceof ConnectionError) throw err;
        throw new ConnectionError(`cannot connect to RabbitMQ at ${this.#where}`, { cause: err });
      }
    }
    if (this.#usedGivenConnection) {
      throw new ConnectionError('the given AMQP connection closed; pass url or a factory to reconnect');
    }
    this.#usedGivenConnection = true;
    return { model: dial.connection, where: this.#where };
  }

  async #connectOnce(): Promise<Session> {
    const hadSession = this.#session !== undefined;
    const { model, where } = await this.#open();
    const session: Session = { model, where, pub: undefined as never, declared: new Set(), alive: true };
    const lost = () => {
      if (!session.alive) return;
      session.alive = false;
      this.#onLost();
      this.watchers.update();
      if (this.#closed) return;
      this.#logger?.warn?.('AMQP connection lost; reconnecting', { broker: where });
      // Reconnect in the background so consumers resume without a publish.
      this.ready().catch(() => {});
    };
    model.on('error', (err: Error) => {
      this.#logger?.warn?.('AMQP connection error', { broker: where, error: err.message });
    });
    model.on('close', lost);
    try {
      session.pub = await this.#openPublisher(model, session);
      await this.#setUp(session.pub);
    } catch (err) {
      lost();
      await model.close().catch(() => {});
      throw new DialError(`cannot open a channel on ${where}`, where, err);
    }
    if (this.#closed) {
      session.alive = false;
      await model.close().catch(() => {});
      throw new ClosedError('queue adapter is closed');
    }
    this.#session = session;
    this.watchers.update();
    if (hadSession) this.#reconnects++;
    this.#logger?.info?.('AMQP connected', { broker: where });
    this.#onConnected();
    return session;
  }

  async #openPublisher(model: ChannelModel, session: Session): Promise<ConfirmChannel> {
    const pub = await model.createConfirmChannel();
    markClosedOnClose(pub);
    trackReturns(pub);
    pub.on('error', (err: Error) => {
      this.#logger?.warn?.('AMQP publish channel error', { error: err.message });
    });
    pub.once('close', () => {
      // A channel-level error, or closed after a nack (not a lost connection): open a new one.
      if (!session.alive || this.#closed || session.pub !== pub) return;
      session.declared.clear();
      this.#openPublisher(model, session).then(
        (next) => {
          session.pub = next;
        },
        () => model.close().catch(() => {}),
      );
      session.pub = undefined as never;
    });
    return pub;
  }

  /**
   * Enters the closed state: the connect loop stops, pauses end, and the
   * session (if any) is handed back for {@link AmqpConnection.closeSession}.
   */
  shutDown(): Session | undefined {
    this.#closed = true;
    this.#stop.abort();
    const session = this.#session;
    this.#session = undefined;
    this.watchers.update();
    return session;
  }

  /**
   * Waits (bounded) for the confirms in flight on `session`, then closes
   * its confirm channel and, if the adapter opened it, the connection.
   */
  async closeSession(session: Session | undefined, steps: CloseSteps = new CloseSteps()): Promise<void> {
    if (session?.alive) {
      session.alive = false;
      if (channelAlive(session.pub)) {
        // Bounded: a broker that stopped answering must not hang close().
        await steps.run(
          'waiting for publisher confirms',
          withTimeout(session.pub.waitForConfirms(), 5_000, 'waiting for confirms'),
        );
        await steps.run('closing the confirm channel', session.pub.close());
      }
      if (this.#owned) await steps.run('closing the connection', session.model.close());
    }
  }

  /**
   * Destroys the socket of `session` if the adapter opened it (a given
   * connection is the caller's: it is left alone). For a close the broker
   * did not answer by its deadline. Returns whether a socket was destroyed.
   */
  destroySession(session: Session | undefined): boolean {
    if (session === undefined || !this.#owned) return false;
    session.alive = false;
    return destroySocket(session.model, 'scaleout: the broker did not answer the close by its deadline');
  }
}
