import { InvalidArgumentError, InvalidOptionsError, PayloadTooLargeError } from '../errors.js';
import { clockOption, listenerChecker, optionsChecker } from '../internal/validate.js';
import {
  checkTelemetryOptions,
  TELEMETRY_OPTION_HINTS,
  TELEMETRY_OPTION_KEYS,
} from '../telemetry/telemetry-options.js';
import { headersArgument, messageBytes } from './adapter-input.js';
import type { MessageQueueOptions } from './message-queue-options.js';

/**
 * @internal The checks of {@link MessageQueue}'s options and arguments:
 * unknown keys and non-objects refused (InvalidOptionsError naming the key
 * and the option meant), counts in range, headers, listeners, the size cap.
 */

/** Most bytes `maxMessageBytes` may be set to (128 MiB). */
export const MAX_MESSAGE_BYTES_LIMIT = 134_217_728;

/** Refuses unknown keys and non-objects as {@link MessageQueueOptions}. */
export const checkQueueOptions = optionsChecker({
  where: 'MessageQueue options',
  keys: [
    'adapter',
    'serializer',
    'logger',
    'maxDeliveries',
    'prefetch',
    'retryBaseMs',
    'retryMaxMs',
    'closeTimeoutMs',
    'deadLetterSuffix',
    'maxMessageBytes',
    'clock',
    'consumerTrace',
    ...TELEMETRY_OPTION_KEYS,
  ],
  hints: {
    ...TELEMETRY_OPTION_HINTS,
    now: 'clock',
    url: 'adapter',
    connection: 'adapter',
    maxRetries: 'maxDeliveries',
    retries: 'maxDeliveries',
    maxAttempts: 'maxDeliveries',
    retryDelay: 'retryBaseMs',
    retryDelayMs: 'retryBaseMs',
    maxSize: 'maxMessageBytes',
    maxBytes: 'maxMessageBytes',
    maxMessageSize: 'maxMessageBytes',
  },
});
/** Refuses unknown keys and non-objects as `publish()` options. */
export const checkPublishOptions = optionsChecker({
  where: 'queue.publish() options',
  keys: ['persistent', 'headers', 'messageId', 'signal'],
  hints: { durable: 'persistent', deliveryMode: 'persistent', id: 'messageId', messageID: 'messageId' },
});
/** Refuses unknown keys and non-objects as `consume()` options (a bare number names prefetch). */
export const checkConsumeOptions = optionsChecker({
  where: 'queue.consume() options',
  keys: ['group', 'prefetch', 'maxDeliveries', 'deadLetter', 'dedupe'],
  hints: {
    idempotency: 'dedupe',
    deduplicate: 'dedupe',
    concurrency: 'prefetch',
    maxRetries: 'maxDeliveries',
    retries: 'maxDeliveries',
    maxAttempts: 'maxDeliveries',
    deadLetterTopic: 'deadLetter',
    deadLetterQueue: 'deadLetter',
    queue: 'group',
  },
  bareNumber: 'prefetch',
});
/** Refuses unknown keys and non-objects as a consumer's `unsubscribe()` / `close()` options. */
export const checkStopOptions = optionsChecker({
  where: 'consumer.close() options',
  keys: ['signal'],
  hints: { timeout: 'signal', timeoutMs: 'signal', deadline: 'signal', deadlineMs: 'signal' },
});
/** Refuses unknown keys and non-objects as `consumeDeadLetters()` options. */
export const checkDeadLetterOptions = optionsChecker({
  where: 'queue.consumeDeadLetters() options',
  keys: ['deadLetter', 'prefetch'],
  hints: { deadLetterTopic: 'deadLetter', concurrency: 'prefetch' },
  bareNumber: 'prefetch',
});

/** An integer option in `[1, max]`, or InvalidOptionsError. */
export function countOption(name: string, value: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new InvalidOptionsError(`${name} must be an integer in [1, ${max}]`, { option: name });
  }
  return value;
}

/** An integer argument in `[1, max]`, or InvalidArgumentError. */
export function countArgument(name: string, value: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new InvalidArgumentError(`${name} must be an integer in [1, ${max}]`, { argument: name });
  }
  return value;
}

const EVENTS: ReadonlySet<string> = new Set(['retry', 'dead-letter', 'error', 'connection']);

/** An event name of MessageQueue and a function, or InvalidArgumentError. */
export const checkListener = listenerChecker(EVENTS);

function hasMethods(value: unknown, methods: readonly string[]): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    methods.every((m) => typeof (value as Record<string, unknown>)[m] === 'function')
  );
}

/** Publish headers: a plain object of strings, `x-scaleout-` names reserved. */
export function publishHeaders(headers: unknown): Record<string, string> {
  if (headers === undefined) return {};
  const out = headersArgument(headers);
  for (const key of Object.keys(out)) {
    if (key.toLowerCase().startsWith('x-scaleout-')) {
      throw new InvalidArgumentError(`header "${key}" is reserved`, { argument: 'headers' });
    }
  }
  return out;
}

/** Checks the adapter, serializer and logger given to the constructor. */
export function checkQueueParts(options: MessageQueueOptions): void {
  checkTelemetryOptions(options, 'MessageQueue options');
  if (
    options.consumerTrace !== undefined &&
    options.consumerTrace !== 'linked' &&
    options.consumerTrace !== 'child'
  ) {
    throw new InvalidOptionsError("consumerTrace must be 'linked' or 'child'", { option: 'consumerTrace' });
  }
  if (options.adapter !== undefined && !hasMethods(options.adapter, ['publish', 'consume', 'close'])) {
    throw new InvalidOptionsError(
      'adapter must be a QueueAdapter (memoryQueueAdapter(), amqpQueueAdapter() from scaleout/amqp, redisStreamsQueueAdapter() from scaleout/redis)',
      { option: 'adapter' },
    );
  }
  if (options.serializer !== undefined && !hasMethods(options.serializer, ['serialize', 'deserialize'])) {
    throw new InvalidOptionsError('serializer must have serialize() and deserialize()', {
      option: 'serializer',
    });
  }
  if (options.logger !== undefined && (typeof options.logger !== 'object' || options.logger === null)) {
    throw new InvalidOptionsError('logger must be an object with warn()/error() methods', {
      option: 'logger',
    });
  }
  clockOption(options.clock);
}

/** Whether `headers` has an own key (without an array of its keys). */
function hasOwnKey(headers: Readonly<Record<string, string>>): boolean {
  for (const key in headers) if (Object.hasOwn(headers, key)) return true;
  return false;
}

/** Refuses a message over `max` bytes (payload plus headers, UTF-8) with PayloadTooLargeError. */
export function checkMessageSize(
  topic: string,
  body: string,
  headers: Readonly<Record<string, string>>,
  max: number,
): void {
  // Cheap bound first: a UTF-16 unit is at most 3 bytes of UTF-8.
  if (body.length * 3 > max || hasOwnKey(headers)) {
    const bytes = messageBytes(body, headers);
    if (bytes > max) {
      throw new PayloadTooLargeError(
        `message to "${topic}" is ${bytes} bytes (payload and headers), more than maxMessageBytes (${max})`,
        { bytes, maxBytes: max },
      );
    }
  }
}
