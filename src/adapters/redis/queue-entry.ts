import { QUEUE_HEADERS } from '../../contracts/queue.js';
import { hasControlCharacter } from '../../internal/validate.js';
import { isMessageId, MAX_HEADER_NAME_LENGTH } from '../../queue/adapter-input.js';

/**
 * @internal How one queue message is laid out in a Redis stream entry, and
 * how an entry is read back: as strictly as it is written.
 *
 * scaleout writes exactly four fields, once each: `i` (message id), `b`
 * (serialized body), `h` (headers, a JSON object of strings) and `t`
 * (publication time, ms since the epoch). Anything else in a stream was
 * written by another program.
 */

/** A message as stored in (or read from) a stream entry. */
export interface StreamMessage {
  id: string;
  body: string;
  headers: Record<string, string>;
  timestamp: number;
  /** Why the entry is not in scaleout's shape; undefined when it is. */
  malformed: string | undefined;
}

/** The body format of a dead letter that holds a foreign entry's fields. */
export const STREAM_FIELDS_FORMAT = 'redis-stream-fields';

/**
 * The body format of a dead letter that holds a foreign entry's fields when
 * one of them is not UTF-8 text: the JSON array of every name and value in
 * base64, verbatim and in order.
 */
export const STREAM_FIELDS_BASE64_FORMAT = 'redis-stream-fields-base64';

/** The body format of a dead letter whose body is not UTF-8 text: base64 of the bytes (as RabbitMQ's). */
export const BASE64_FORMAT = 'base64';

/** Refuses bytes that are not UTF-8 (a lenient decode would turn them into U+FFFD). */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const FIELD_NAMES = ['i', 'b', 'h', 't'] as const;

/** The fields of a stream entry holding `message`, in scaleout's layout. */
export function streamFields(message: {
  id: string;
  body: string;
  headers: Record<string, string>;
  timestamp: number;
}): string[] {
  return [
    'i',
    message.id,
    'b',
    message.body,
    'h',
    JSON.stringify(message.headers),
    't',
    String(message.timestamp),
  ];
}

/** Parses `h`; returns the headers or why they are not scaleout's. */
function parseHeaders(text: string): Record<string, string> | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return `field "h" is not JSON (${text.length} chars)`;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return 'field "h" is not a JSON object';
  }
  const headers: Record<string, string> = {};
  for (const key of Object.keys(parsed)) {
    const value = (parsed as Record<string, unknown>)[key];
    if (key === '__proto__') return 'field "h" has an unsafe key "__proto__"';
    if (key.length === 0 || key.length > MAX_HEADER_NAME_LENGTH || hasControlCharacter(key)) {
      return 'field "h" has a header name that is not one';
    }
    if (typeof value !== 'string') return 'field "h" has a header value that is not a string';
    headers[key] = value;
  }
  return headers;
}

/** Milliseconds part of a stream entry id (`<ms>-<seq>`). */
function entryTime(entryId: string): number {
  const ms = Number(entryId.slice(0, entryId.indexOf('-')));
  return Number.isSafeInteger(ms) && ms >= 0 ? ms : 0;
}

/**
 * Reads a stream entry from its fields as bytes (`XREADGROUP` and
 * `XAUTOCLAIM` are read as buffers: a lenient decode would hand the
 * handler U+FFFD for bytes that are not UTF-8, and lose them from a dead
 * letter). Every field is decoded strictly. An entry in scaleout's layout
 * whose body alone is not UTF-8 is flagged `malformed` with its id, headers
 * and time kept and the body's bytes in base64 (format `base64`, as a
 * RabbitMQ body that is not UTF-8); any other entry with a field that is not
 * UTF-8 keeps every name and value in base64 (format
 * `redis-stream-fields-base64`). Otherwise see {@link readStreamFields}.
 */
export function readStreamEntry(entryId: string, raw: readonly Buffer[]): StreamMessage {
  const fields: string[] = new Array(raw.length);
  const binary: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    try {
      fields[i] = utf8.decode(raw[i]!);
    } catch {
      fields[i] = '';
      binary.push(i);
    }
  }
  if (binary.length === 0) return readStreamFields(entryId, fields);
  const message = readStreamFields(entryId, fields);
  const at = binary[0]!;
  const what = at % 2 === 0 ? 'a field name' : `field ${JSON.stringify(fields[at - 1]!.slice(0, 32))}`;
  const problem = `${what} is not UTF-8 text (${raw[at]!.length} bytes)`;
  if (message.malformed === undefined && binary.length === 1 && fields[at - 1] === 'b') {
    return {
      ...message,
      body: raw[at]!.toString('base64'),
      headers: { ...message.headers, [QUEUE_HEADERS.bodyFormat]: BASE64_FORMAT },
      malformed: problem,
    };
  }
  return {
    id: message.id,
    body: JSON.stringify(raw.map((b) => b.toString('base64'))),
    headers: { [QUEUE_HEADERS.bodyFormat]: STREAM_FIELDS_BASE64_FORMAT },
    timestamp: message.timestamp,
    malformed: problem,
  };
}

/**
 * Reads a stream entry's decoded fields. An entry in scaleout's layout gives its message; any
 * other entry (a missing, repeated or unexpected field, headers that are
 * not a JSON object of strings, a bad id or time) gives a message flagged
 * `malformed` with the reason, whose body is the JSON array of the entry's
 * fields and values, verbatim and in order (so that a dead letter keeps
 * all of it), and whose id is the entry's `i` when usable, else the stream
 * entry id (stable and unique within the stream).
 */
export function readStreamFields(entryId: string, fields: readonly string[]): StreamMessage {
  const found = new Map<string, string>();
  let problem: string | undefined;
  if (fields.length % 2 !== 0) problem = 'odd number of field names and values';
  for (let i = 0; problem === undefined && i + 1 < fields.length; i += 2) {
    const name = fields[i]!;
    if (!(FIELD_NAMES as readonly string[]).includes(name)) {
      problem = `unexpected field ${JSON.stringify(name.length > 32 ? `${name.slice(0, 32)}...` : name)}`;
    } else if (found.has(name)) problem = `field "${name}" appears twice`;
    else found.set(name, fields[i + 1]!);
  }
  for (const name of FIELD_NAMES) {
    if (problem === undefined && !found.has(name)) problem = `missing field "${name}"`;
  }
  let headers: Record<string, string> | string = {};
  if (problem === undefined) {
    headers = parseHeaders(found.get('h')!);
    if (typeof headers === 'string') problem = headers;
  }
  const t = found.get('t');
  const timestamp = t !== undefined && /^(0|[1-9][0-9]{0,15})$/.test(t) ? Number(t) : undefined;
  if (problem === undefined && (timestamp === undefined || !Number.isSafeInteger(timestamp))) {
    problem = 'field "t" is not a time in ms';
  }
  const i = found.get('i');
  if (problem === undefined && !isMessageId(i!)) problem = 'field "i" is not a message id';
  if (problem === undefined) {
    return {
      id: i!,
      body: found.get('b')!,
      headers: headers as Record<string, string>,
      timestamp: timestamp!,
      malformed: undefined,
    };
  }
  return {
    id: i !== undefined && isMessageId(i) ? i : entryId,
    body: JSON.stringify(fields),
    headers: { [QUEUE_HEADERS.bodyFormat]: STREAM_FIELDS_FORMAT },
    timestamp: timestamp !== undefined && Number.isSafeInteger(timestamp) ? timestamp : entryTime(entryId),
    malformed: problem,
  };
}
