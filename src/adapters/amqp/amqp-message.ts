import { isUtf8 } from 'node:buffer';
import type { ConsumeMessage, Options } from 'amqplib';
import { QUEUE_HEADERS, type QueueOutgoingMessage } from '../../contracts/queue.js';
import { InvalidArgumentError } from '../../errors.js';

/**
 * @internal What the RabbitMQ adapter writes on a message, and how it
 * reads one back, including messages other programs published into its
 * queues (the design's `sendToQueue`, another service, a shovel).
 */

/** Header holding the publication time (a number), ms since the epoch. */
export const PUBLISHED_AT = 'x-scaleout-published-at';

/**
 * The {@link PUBLISHED_AT} header's field value: the ms timestamp as an
 * AMQP double (`d`), exact for any ms since the epoch (below 2^53), read
 * back as a JS number like the 64-bit integer earlier versions wrote. amqplib
 * would otherwise encode it as a signed 64-bit integer through a BigInt on
 * every publish, a visible share of the publish path in a CPU profile.
 */
export function publishedAtField(timestamp: number): { '!': 'double'; value: number } {
  return { '!': 'double', value: timestamp };
}

/**
 * Largest headers (as JSON text) a delivered message may carry and still be
 * copied by a retry or a dead letter: amqplib encodes a message's headers
 * into a 64 KiB buffer, and scaleout adds up to ~1.5 KiB of its own.
 */
export const MAX_FORWARDABLE_HEADER_BYTES = 60_000;

/** Body format of a dead letter whose body is not UTF-8 text: base64 of the bytes. */
export const BASE64_FORMAT = 'base64';

/** Longest AMQP short string (queue names, routing keys, message ids, header names), in bytes. */
const MAX_SHORTSTR_BYTES = 255;

/** RabbitMQ's counts of a quorum queue message's returns: they belong to that copy only. */
const COUNT_HEADERS = new Set(['x-delivery-count', 'x-acquired-count']);

/** Headers RabbitMQ itself writes (dead-letter history, delivery counts) or acts on when a copy is published. */
function isBrokerHeader(name: string): boolean {
  return (
    name === PUBLISHED_AT ||
    COUNT_HEADERS.has(name) ||
    name.startsWith('x-death') ||
    name.startsWith('x-first-death') ||
    name.startsWith('x-last-death')
  );
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (
    typeof value === 'object' &&
    value !== null &&
    (value as { type?: unknown }).type === 'Buffer' &&
    Array.isArray((value as { data?: unknown }).data)
  ) {
    return Buffer.from((value as { data: number[] }).data).toString('utf8');
  }
  return value;
}

/**
 * The headers of a delivered message as the handler sees them: strings as
 * they are; numbers and booleans in decimal; byte arrays as UTF-8 text;
 * AMQP timestamps as their number; arrays, tables and other typed values as
 * JSON; `null` (void) as `''`. RabbitMQ's own bookkeeping (`x-death`...)
 * is left out. Nothing else is dropped; copies (retries, dead letters) carry
 * the original typed headers.
 */
export function stringHeaders(raw: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (raw === undefined || raw === null || typeof raw !== 'object') return out;
  // for...in with an own-key check: the own enumerable keys, as
  // Object.entries gives them, without an array of pairs per delivery.
  for (const k in raw) {
    if (!Object.hasOwn(raw, k) || isBrokerHeader(k) || k === '__proto__') continue;
    const v = raw[k];
    if (typeof v === 'string') out[k] = v;
    else if (Buffer.isBuffer(v)) out[k] = v.toString('utf8');
    else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') out[k] = String(v);
    else if (v === null || v === undefined) out[k] = '';
    else if (typeof v === 'object' && (v as { '!'?: unknown })['!'] === 'timestamp') {
      out[k] = String((v as { value?: unknown }).value);
    } else out[k] = JSON.stringify(v, jsonReplacer) ?? '';
  }
  return out;
}

/** The empty headers {@link brokerDeathHeaders} returns for most messages (shared, frozen). */
export const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** Why RabbitMQ itself dead-lettered a message (`x-first-death-reason`), as it writes it. */
const BROKER_DEATH_REASONS = new Set(['rejected', 'expired', 'maxlen', 'delivery_limit']);

/**
 * For a message RabbitMQ dead-lettered itself (a quorum queue's delivery
 * limit, a `nack` without requeue by another consumer, a TTL, a length
 * limit), the error headers scaleout's own dead letters carry, so that a
 * dead-letter consumer learns why: `x-scaleout-error-name: RabbitMQ` and
 * `x-scaleout-error: dead-lettered by RabbitMQ (<reason>)`. Empty for any
 * other message, and for one that already carries scaleout's reason.
 */
export function brokerDeathHeaders(msg: ConsumeMessage): Readonly<Record<string, string>> {
  const raw = msg.properties.headers as Record<string, unknown> | undefined;
  if (raw === undefined || raw === null || raw[QUEUE_HEADERS.reason] !== undefined) return NO_HEADERS;
  let reason = raw['x-first-death-reason'] as unknown;
  if (reason === undefined) return NO_HEADERS;
  if (Buffer.isBuffer(reason)) reason = reason.toString('utf8');
  if (typeof reason !== 'string' || !BROKER_DEATH_REASONS.has(reason)) return NO_HEADERS;
  return {
    [QUEUE_HEADERS.errorName]: 'RabbitMQ',
    [QUEUE_HEADERS.error]: `dead-lettered by RabbitMQ (${reason})`,
  };
}

/** Publication time: scaleout's header, else the AMQP `timestamp` property (seconds). */
export function publishedAtOf(msg: ConsumeMessage): number | undefined {
  const header = (msg.properties.headers as Record<string, unknown> | undefined)?.[PUBLISHED_AT];
  if (typeof header === 'number' && Number.isSafeInteger(header) && header >= 0) return header;
  const seconds = msg.properties.timestamp as unknown;
  if (typeof seconds === 'number' && Number.isSafeInteger(seconds) && seconds >= 0) return seconds * 1000;
  return undefined;
}

/**
 * Cheap bound for the usual headers (a few strings and numbers): their JSON
 * is at most 6 bytes per UTF-16 unit of names and strings (`\u00XX`
 * escapes) plus a little per entry, so headers far under the cap need no
 * `JSON.stringify` per delivery. Anything else is measured exactly.
 */
function surelyForwardable(headers: Record<string, unknown>): boolean {
  let bound = 2;
  for (const key in headers) {
    if (!Object.hasOwn(headers, key)) continue;
    const value = headers[key];
    if (typeof value === 'string') bound += 6 * value.length;
    else if (typeof value !== 'number' && typeof value !== 'boolean' && value !== null) return false;
    bound += 6 * key.length + 32;
    if (bound > MAX_FORWARDABLE_HEADER_BYTES) return false;
  }
  return true;
}

/**
 * Why a delivered message cannot be read as scaleout reads messages, if it
 * cannot: a body that is not UTF-8 (it cannot be JSON text), or headers too
 * large to be copied by a retry or a dead letter.
 */
export function malformedReason(msg: ConsumeMessage): string | undefined {
  if (!isUtf8(msg.content)) return `body is not UTF-8 text (${msg.content.length} bytes)`;
  const headers = msg.properties.headers as Record<string, unknown> | undefined;
  if (headers !== undefined && headers !== null && !surelyForwardable(headers)) {
    const bytes = Buffer.byteLength(JSON.stringify(headers, jsonReplacer) ?? '', 'utf8');
    if (bytes > MAX_FORWARDABLE_HEADER_BYTES) {
      return `headers are too large to forward (${bytes} bytes, at most ${MAX_FORWARDABLE_HEADER_BYTES})`;
    }
  }
  return undefined;
}

/**
 * Properties of a copy of a delivered message (a retry, a dead letter, an
 * id stamp): every property and header the producer set, plus `extra`
 * headers, except `userId` (RabbitMQ refuses a copy whose user id is not
 * the publishing connection's), the `CC`/`BCC` headers (the broker
 * would route the copy to those queues again) and the broker's delivery
 * counts (a copy is a new message: its count starts again).
 */
export function copyProperties(
  msg: ConsumeMessage,
  extra: Record<string, string>,
  messageId: string | undefined,
): Options.Publish {
  const p = msg.properties;
  const headers: Record<string, unknown> = {};
  const raw = p.headers as Record<string, unknown> | undefined;
  if (raw !== undefined && raw !== null) {
    for (const [k, v] of Object.entries(raw)) {
      if (k === 'CC' || k === 'BCC' || k === '__proto__' || COUNT_HEADERS.has(k)) continue;
      headers[k] = v;
    }
  }
  Object.assign(headers, extra);
  const props: Options.Publish = { headers, persistent: p.deliveryMode === 2 };
  if (messageId !== undefined) props.messageId = messageId;
  if (typeof p.contentType === 'string') props.contentType = p.contentType;
  if (typeof p.contentEncoding === 'string') props.contentEncoding = p.contentEncoding;
  if (typeof p.correlationId === 'string') props.correlationId = p.correlationId;
  if (typeof p.replyTo === 'string') props.replyTo = p.replyTo;
  if (typeof p.expiration === 'string') props.expiration = p.expiration;
  if (typeof p.type === 'string') props.type = p.type;
  if (typeof p.appId === 'string') props.appId = p.appId;
  if (typeof p.priority === 'number') props.priority = p.priority;
  if (typeof p.timestamp === 'number') props.timestamp = p.timestamp;
  return props;
}

function checkShortString(what: string, value: string): void {
  // A UTF-16 unit is at most 3 bytes of UTF-8: short strings need no count.
  if (value.length * 3 > MAX_SHORTSTR_BYTES && Buffer.byteLength(value, 'utf8') > MAX_SHORTSTR_BYTES) {
    throw new InvalidArgumentError(`${what} is longer than ${MAX_SHORTSTR_BYTES} bytes (an AMQP limit)`, {
      argument: what,
    });
  }
}

/**
 * Checks names RabbitMQ would refuse, before anything is sent: a queue
 * name (prefix included) over 255 bytes or starting with the reserved
 * `amq.`. Throws `InvalidArgumentError`.
 */
export function checkQueueName(what: string, name: string): void {
  checkShortString(what, name);
  if (name.startsWith('amq.')) {
    throw new InvalidArgumentError(`${what} must not start with "amq." (reserved by RabbitMQ)`, {
      argument: what,
    });
  }
}

/**
 * Checks what RabbitMQ limits or acts on in an outgoing message: an id or
 * a header name over 255 bytes, and the `CC` / `BCC` headers (sender-selected
 * distribution: RabbitMQ would route the message to the queues they name,
 * and closes the channel when they are not arrays).
 */
export function checkOutgoing(message: QueueOutgoingMessage): void {
  checkShortString('message id', message.id);
  const headers = message.headers;
  for (const name in headers) {
    if (!Object.hasOwn(headers, name)) continue;
    checkShortString('header name', name);
    if (name === 'CC' || name === 'BCC') {
      throw new InvalidArgumentError(
        `header "${name}" is a routing instruction to RabbitMQ: use another name`,
        {
          argument: 'headers',
        },
      );
    }
  }
}
