import type { QueueAdapterConsumeOptions, QueueOutgoingMessage } from '../contracts/queue.js';
import { InvalidArgumentError } from '../errors.js';
import { isAbortSignal } from '../internal/abort.js';
import {
  hasControlCharacter,
  isPlainObject,
  isWellFormed,
  keyArgument,
  optionsChecker,
} from '../internal/validate.js';

/**
 * @internal Checks of what a caller hands a queue adapter directly (the
 * adapters are public: tests and other primitives call them without
 * {@link MessageQueue}). Each throws `InvalidArgumentError` or
 * `InvalidOptionsError`, never a raw `TypeError`, and never echoes a value.
 */

/** Longest topic name, in characters (the back ends add a prefix and suffixes). */
export const MAX_TOPIC_LENGTH = 200;
/** Longest consumer group name, in characters. */
export const MAX_GROUP_LENGTH = 100;
/** Longest message id, in characters. */
export const MAX_MESSAGE_ID_LENGTH = 200;
/** Longest header name, in characters. */
export const MAX_HEADER_NAME_LENGTH = 128;

const checkMessageShape = optionsChecker({
  where: 'queue adapter message',
  keys: ['id', 'body', 'headers', 'persistent', 'timestamp'],
});
const checkPublishOptions = optionsChecker({ where: 'queue adapter publish() options', keys: ['signal'] });
const checkConsumeOptions = optionsChecker({
  where: 'queue adapter consume() options',
  keys: ['group', 'prefetch', 'deadLetterTopic', 'onError'],
});

function loneSurrogate(name: string): InvalidArgumentError {
  return new InvalidArgumentError(
    `${name} holds a lone surrogate (not Unicode text: it would arrive as U+FFFD)`,
    { argument: name },
  );
}

/**
 * Whether a message id read back from a back end is one `publish` would
 * accept: 1 to {@link MAX_MESSAGE_ID_LENGTH} characters, no control
 * characters, Unicode text. Another program's message with any other id is
 * a foreign record (dead-lettered as `CorruptDataError`, never handed to a
 * handler).
 */
export function isMessageId(value: string): boolean {
  if (value.length === 0 || value.length > MAX_MESSAGE_ID_LENGTH) return false;
  return !hasControlCharacter(value) && isWellFormed(value);
}

/**
 * Checks message headers: a plain object of string values under names of
 * 1 to {@link MAX_HEADER_NAME_LENGTH} characters without control
 * characters (`__proto__` refused). Returns a copy.
 */
export function headersArgument(headers: unknown, name = 'headers'): Record<string, string> {
  if (headers === undefined) return {};
  if (!isPlainObject(headers)) {
    throw new InvalidArgumentError(`${name} must be a plain object of strings`, { argument: name });
  }
  const out: Record<string, string> = {};
  for (const key of Object.keys(headers)) {
    keyArgument('header name', key, MAX_HEADER_NAME_LENGTH);
    if (key === '__proto__') {
      throw new InvalidArgumentError('header name "__proto__" is not allowed', { argument: name });
    }
    // Read as data: a getter (user code that may throw) is not a header value.
    const value = Object.getOwnPropertyDescriptor(headers, key)?.value as unknown;
    if (typeof value !== 'string') {
      throw new InvalidArgumentError(`header "${key}" must be a string, got ${typeof value}`, {
        argument: name,
      });
    }
    if (!isWellFormed(value)) throw loneSurrogate(`header "${key}"`);
    out[key] = value;
  }
  return out;
}

/** Checks `adapter.publish(topic, message, options)`. */
export function checkAdapterPublish(topic: unknown, message: unknown, options: unknown): void {
  keyArgument('topic', topic, MAX_TOPIC_LENGTH);
  checkMessageShape(message);
  if (message === undefined) {
    throw new InvalidArgumentError('message must be an object { id, body, headers, persistent, timestamp }', {
      argument: 'message',
    });
  }
  const m = message as Partial<QueueOutgoingMessage>;
  keyArgument('message.id', m.id, MAX_MESSAGE_ID_LENGTH);
  if (typeof m.body !== 'string') {
    throw new InvalidArgumentError('message.body must be a string', { argument: 'message.body' });
  }
  if (!isWellFormed(m.body)) throw loneSurrogate('message.body');
  headersArgument(m.headers, 'message.headers');
  if (m.headers === undefined) {
    throw new InvalidArgumentError('message.headers must be an object', { argument: 'message.headers' });
  }
  if (typeof m.persistent !== 'boolean') {
    throw new InvalidArgumentError('message.persistent must be a boolean', {
      argument: 'message.persistent',
    });
  }
  if (typeof m.timestamp !== 'number' || !Number.isSafeInteger(m.timestamp) || m.timestamp < 0) {
    throw new InvalidArgumentError('message.timestamp must be ms since the epoch', {
      argument: 'message.timestamp',
    });
  }
  checkPublishOptions(options);
  const signal = (options as { signal?: unknown } | undefined)?.signal;
  if (signal !== undefined && !isAbortSignal(signal)) {
    throw new InvalidArgumentError('signal must be an AbortSignal', { argument: 'signal' });
  }
}

/** Checks `adapter.consume(topic, onDelivery, options)`. */
export function checkAdapterConsume(topic: unknown, onDelivery: unknown, options: unknown): void {
  keyArgument('topic', topic, MAX_TOPIC_LENGTH);
  if (typeof onDelivery !== 'function') {
    throw new InvalidArgumentError('onDelivery must be a function', { argument: 'onDelivery' });
  }
  checkConsumeOptions(options);
  if (options === undefined) {
    throw new InvalidArgumentError('consume() options { group, prefetch, deadLetterTopic } are required', {
      argument: 'options',
    });
  }
  const o = options as Partial<QueueAdapterConsumeOptions>;
  keyArgument('group', o.group, MAX_GROUP_LENGTH);
  if (
    typeof o.prefetch !== 'number' ||
    !Number.isInteger(o.prefetch) ||
    o.prefetch < 1 ||
    o.prefetch > 65_535
  ) {
    throw new InvalidArgumentError('prefetch must be an integer in [1, 65535]', { argument: 'prefetch' });
  }
  if (o.deadLetterTopic !== undefined) {
    keyArgument('deadLetterTopic', o.deadLetterTopic, MAX_TOPIC_LENGTH);
    if (o.deadLetterTopic === topic) {
      throw new InvalidArgumentError('deadLetterTopic must differ from the topic', {
        argument: 'deadLetterTopic',
      });
    }
  }
  if (o.onError !== undefined && typeof o.onError !== 'function') {
    throw new InvalidArgumentError('onError must be a function', { argument: 'onError' });
  }
}

/**
 * Size of a message in bytes (UTF-8): its body plus its header names and
 * values.
 */
export function messageBytes(body: string, headers: Readonly<Record<string, string>>): number {
  let bytes = Buffer.byteLength(body, 'utf8');
  for (const key in headers) {
    if (!Object.hasOwn(headers, key)) continue;
    bytes += Buffer.byteLength(key, 'utf8') + Buffer.byteLength(headers[key]!, 'utf8');
  }
  return bytes;
}
