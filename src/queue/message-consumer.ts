import { QUEUE_HEADERS, type QueueAdapterSubscription, type QueueDelivery } from '../contracts/queue.js';
import {
  CorruptDataError,
  InvalidArgumentError,
  InvalidOptionsError,
  PayloadTooLargeError,
} from '../errors.js';
import { isAbortSignal, waitOrAbort } from '../internal/abort.js';
import type { TypedEmitter } from '../internal/events.js';
import { InFlight } from '../internal/in-flight.js';
import { Lifecycle } from '../internal/lifecycle.js';
import { sleep } from '../internal/timers.js';
import type { Backoff } from '../resilience/backoff.js';
import type { ProcessTrace, QueueTelemetry } from '../telemetry/queue-telemetry.js';
import type { Clock, Subscription } from '../types.js';
import { messageBytes } from './adapter-input.js';
import { checkStopOptions } from './message-queue-checks.js';
import type { ConsumerStopOptions, MessageQueueEvents } from './message-queue-options.js';

/** @internal How a consumer turns a delivery into a handler call. */
export interface ConsumerPolicy {
  topic: string;
  group: string;
  maxDeliveries: number;
  deadLetterTopic: string | undefined;
  backoff: Backoff;
  closeTimeoutMs: number;
  clock: Clock;
  events: TypedEmitter<MessageQueueEvents>;
  /** Larger messages are dead-lettered unread; undefined: no cap (dead-letter consumers). */
  maxMessageBytes: number | undefined;
  /**
   * Whether a delivery the back end flagged `malformed` goes to `decode`
   * (dead-letter consumers: they see everything) instead of straight to the
   * dead letters.
   */
  readMalformed: boolean;
  /** Decodes the delivery, or throws (the message is then dead-lettered as unparseable). */
  decode(delivery: QueueDelivery): unknown;
  /** Calls the user's handler. */
  handle(value: unknown, delivery: QueueDelivery): unknown;
  /** A CONSUMER span per delivery, when OpenTelemetry is there. */
  telemetry?: QueueTelemetry | undefined;
}

/** Whether `headers` has an own key (no array of keys per delivery). */
function hasHeaders(headers: Readonly<Record<string, string>>): boolean {
  for (const key in headers) if (Object.hasOwn(headers, key)) return true;
  return false;
}

/**
 * Bytes of the `x-scaleout-failures` header a retry copy carries (name and
 * value), when its value is one a retry writes (a decimal count of at most
 * 4 digits): the library's own bookkeeping, not counted toward
 * `maxMessageBytes`, so that a message accepted by `publish` is retried
 * like any other. Bounded (at most 23 bytes), so a foreign message cannot
 * hide anything in it.
 */
function failuresHeaderBytes(headers: Readonly<Record<string, string>>): number {
  const value = headers[QUEUE_HEADERS.failures];
  if (value === undefined || !Object.hasOwn(headers, QUEUE_HEADERS.failures)) return 0;
  if (value.length > 4 || !/^(0|[1-9][0-9]*)$/.test(value)) return 0;
  return QUEUE_HEADERS.failures.length + value.length;
}

function errorFields(err: unknown): { name: string; message: string } {
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: 'Error', message: String(err) };
}

/**
 * An adapter's `consume` must resolve to a {@link Subscription}; one written
 * for the contract before issue 17 resolves to `{ close() }`. Refused
 * loudly, with the fix (after stopping it, so nothing keeps delivering).
 */
function checkSubscription(subscription: Subscription): void {
  if (typeof (subscription as Partial<Subscription> | null)?.unsubscribe === 'function') return;
  const close = (subscription as { close?: unknown } | null)?.close;
  if (typeof close === 'function') {
    void Promise.resolve()
      .then(() => (close as () => unknown).call(subscription))
      .catch(() => {});
  }
  throw new InvalidOptionsError(
    'adapter.consume() must resolve to a Subscription ({ unsubscribe(): Promise<void> }): a QueueAdapter written for the earlier contract returns { close }; rename it to unsubscribe',
    { option: 'adapter' },
  );
}

/**
 * A running consumer returned by {@link MessageQueue.consume}: a
 * {@link Subscription}. `unsubscribe()` (or its synonym `close()`) drains
 * it: no new messages are taken, handlers in flight finish and their
 * messages are acknowledged (or retried), then the adapter's subscription is
 * released.
 *
 * @example
 * ```ts
 * const consumer = await queue.consume('order.created', handle);
 * process.once('SIGTERM', () => consumer.unsubscribe());
 * ```
 */
export class MessageConsumer implements Subscription {
  readonly #policy: ConsumerPolicy;
  /** Deliveries being settled (counted in `#settle`, not a promise kept per delivery); `close()` waits for none. */
  readonly #inFlight = new InFlight();
  readonly #stop = new AbortController();
  /** Aborted by a stop's `signal`: the waits for the adapter and the handlers end. */
  readonly #cutShort = new AbortController();
  readonly #life = new Lifecycle('message consumer');
  #subscription: QueueAdapterSubscription | undefined;
  /** Whether deliveries are handled: until the stop, or until the adapter's stopDelivering() resolved. */
  #accepting = true;
  #processed = 0;

  /** @internal Use {@link MessageQueue.consume}. */
  constructor(policy: ConsumerPolicy) {
    this.#policy = policy;
  }

  /** @internal Throws InvalidOptionsError for an adapter of the earlier contract. */
  attach(subscription: QueueAdapterSubscription): void {
    checkSubscription(subscription);
    this.#subscription = subscription;
  }

  /** The topic consumed. */
  get topic(): string {
    return this.#policy.topic;
  }

  /** The consumer group. */
  get group(): string {
    return this.#policy.group;
  }

  /** Messages being handled right now. */
  get inFlight(): number {
    return this.#inFlight.count;
  }

  /** Messages settled so far (acknowledged, retried or dead-lettered). */
  get processed(): number {
    return this.#processed;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#life.closed;
  }

  /** @internal Called by the adapter for each delivery. */
  readonly onDelivery = (delivery: QueueDelivery): void => {
    // Left unacknowledged: the back end hands it to another consumer.
    if (!this.#accepting) return;
    void this.#process(delivery);
  };

  /** @internal Called by the adapter when it cannot read the topic (it keeps trying). */
  readonly onError = (error: unknown): void => {
    const p = this.#policy;
    if (this.#stop.signal.aborted) return;
    p.events.emit('error', { topic: p.topic, group: p.group, id: undefined, error });
  };

  /** Why a delivery cannot be handed to the handler at all, if so. */
  #unreadable(delivery: QueueDelivery): Error | undefined {
    const p = this.#policy;
    if (delivery.malformed !== undefined && !p.readMalformed) {
      return new CorruptDataError(`foreign record: ${delivery.malformed}`);
    }
    const max = p.maxMessageBytes;
    if (max !== undefined && (delivery.body.length * 3 > max || hasHeaders(delivery.headers))) {
      // What the producer published: a retry copy's failure count is scaleout's own.
      const bytes = messageBytes(delivery.body, delivery.headers) - failuresHeaderBytes(delivery.headers);
      if (bytes > max) {
        return new PayloadTooLargeError(
          `message of ${bytes} bytes (payload and headers), more than maxMessageBytes (${max})`,
          { bytes, maxBytes: max },
        );
      }
    }
    return undefined;
  }

  /** Processes a delivery in its CONSUMER span, when traced. */
  #process(delivery: QueueDelivery): Promise<void> {
    const telemetry = this.#policy.telemetry;
    if (telemetry === undefined) return this.#settle(delivery, undefined);
    const p = this.#policy;
    const trace = telemetry.startProcess(p.topic, p.group, delivery);
    if (trace === undefined) return this.#settle(delivery, undefined);
    return telemetry.run(trace, () => this.#settle(delivery, trace));
  }

  async #settle(delivery: QueueDelivery, trace: ProcessTrace | undefined): Promise<void> {
    const p = this.#policy;
    let outcome = 'ack';
    let failure: unknown;
    this.#inFlight.add();
    try {
      const unreadable = this.#unreadable(delivery);
      if (unreadable !== undefined) {
        outcome = 'dead-letter';
        failure = unreadable;
        await this.#deadLetter(delivery, 'unparseable', unreadable, trace);
        return;
      }
      let value: unknown;
      try {
        value = p.decode(delivery);
      } catch (err) {
        outcome = 'dead-letter';
        failure = err;
        await this.#deadLetter(delivery, 'unparseable', err, trace);
        return;
      }
      try {
        const result = p.handle(value, delivery);
        // A handler that returned no promise is done: no extra turn before the ack.
        if (typeof (result as PromiseLike<unknown> | null | undefined)?.then === 'function') await result;
      } catch (err) {
        failure = err;
        if (delivery.deliveryCount >= p.maxDeliveries) {
          outcome = 'dead-letter';
          await this.#deadLetter(delivery, 'handler-error', err, trace);
          return;
        }
        outcome = 'retry';
        const delayMs = p.backoff(delivery.deliveryCount - 1);
        if (trace !== undefined) p.telemetry!.retrying(trace, delayMs, err);
        if (p.events.has('retry')) {
          p.events.emit('retry', {
            topic: p.topic,
            group: p.group,
            id: delivery.id,
            deliveryCount: delivery.deliveryCount,
            delayMs,
            error: err,
          });
        }
        // Closing cuts the wait short: the copy goes back at once.
        await sleep(delayMs, { signal: this.#stop.signal, unref: true }).catch(() => {});
        await delivery.retry();
        return;
      }
      await delivery.ack();
    } catch (err) {
      // The back end failed to settle the message: it stays unacknowledged
      // and is redelivered after a reconnect or a reclaim.
      outcome = 'unsettled';
      failure ??= err;
      p.events.emit('error', { topic: p.topic, group: p.group, id: delivery.id, error: err });
    } finally {
      if (trace !== undefined) p.telemetry!.endProcess(trace, outcome, failure);
      this.#processed++;
      this.#inFlight.done();
    }
  }

  async #deadLetter(
    delivery: QueueDelivery,
    reason: 'handler-error' | 'unparseable',
    err: unknown,
    trace: ProcessTrace | undefined,
  ): Promise<void> {
    const p = this.#policy;
    if (trace !== undefined) p.telemetry!.deadLettered(trace, reason, p.deadLetterTopic);
    const { name, message } = errorFields(err);
    await delivery.deadLetter({
      'x-scaleout-topic': p.topic,
      'x-scaleout-group': p.group,
      'x-scaleout-reason': reason,
      'x-scaleout-error-name': name,
      'x-scaleout-error': message.slice(0, 1000),
      'x-scaleout-deliveries': String(delivery.deliveryCount),
      'x-scaleout-dead-at': String(p.clock.now()),
    });
    p.events.emit('dead-letter', {
      topic: p.topic,
      group: p.group,
      id: delivery.id,
      reason,
      deliveryCount: delivery.deliveryCount,
      deadLetterTopic: p.deadLetterTopic,
      error: err,
    });
  }

  /**
   * Stops taking messages (an adapter with `stopDelivering()` stops reading
   * first, and what it still delivers meanwhile is handled), waits for
   * handlers in flight (up to `closeTimeoutMs`), then releases the
   * adapter's subscription. Messages still held after that are redelivered
   * by the back end. A `signal` that aborts ends the wait sooner (a stop
   * deadline; given on a later call too, it cuts short a stop in progress).
   * Idempotent: every call gets the same promise.
   *
   * @example
   * ```ts
   * const consumer = await queue.consume('order.created', handle);
   * await consumer.unsubscribe({ signal: AbortSignal.timeout(10_000) });
   * ```
   */
  unsubscribe(options?: ConsumerStopOptions): Promise<void> {
    try {
      checkStopOptions(options);
      const signal = options?.signal;
      if (signal !== undefined && !isAbortSignal(signal)) {
        throw new InvalidArgumentError('signal must be an AbortSignal', { argument: 'signal' });
      }
      const cut = this.#cutShort;
      if (signal?.aborted === true) cut.abort();
      else if (signal !== undefined && !cut.signal.aborted) {
        signal.addEventListener('abort', () => cut.abort(), { once: true });
      }
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#life.close(() => this.#close());
  }

  /**
   * Same as {@link MessageConsumer.unsubscribe}.
   *
   * @example
   * ```ts
   * process.once('SIGTERM', () => consumer.close());
   * ```
   */
  close(options?: ConsumerStopOptions): Promise<void> {
    return this.unsubscribe(options);
  }

  async #close(): Promise<void> {
    this.#stop.abort();
    // closeTimeoutMs, or the stop's signal if it aborts first.
    const deadline = waitOrAbort(this.#policy.closeTimeoutMs, this.#cutShort.signal);
    const timeout = deadline.passed;
    const subscription = this.#subscription;
    if (typeof subscription?.stopDelivering === 'function') {
      // The back end stops reading first; what it still delivers meanwhile
      // (a read in flight) is handled, not left waiting for a reclaim.
      const stopped = Promise.resolve()
        .then(() => subscription.stopDelivering!())
        .catch(() => {});
      await Promise.race([stopped, timeout]);
    }
    // No delivery starts after this: the count only goes down.
    this.#accepting = false;
    await Promise.race([this.#inFlight.idle(), timeout]);
    deadline.cancel();
    await subscription?.unsubscribe();
  }

  /** Same as `close()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
