import { createHash, type Hash } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';
import { isWellFormed } from '../internal/validate.js';

/** Deepest nesting a fingerprinted value may have. */
const MAX_DEPTH = 256;

/** A fingerprint as stored: 64 lower-case hex digits (SHA-256), or '' for "not compared". */
export const FINGERPRINT = /^(?:[0-9a-f]{64})?$/;

function refuse(what: string): never {
  throw new InvalidArgumentError(`fingerprint: ${what}; pass JSON-like data, a string or bytes`, {
    argument: 'fingerprint',
  });
}

/**
 * Feeds a string after a tag: a well-formed string as `utf8Tag` and its
 * UTF-8 bytes, which is how every fingerprint stored so far was made. A
 * string with a lone surrogate has no UTF-8 form (`hash.update` would feed
 * U+FFFD, the same for `'\ud800'` and `'\udfff'`), so it is fed as
 * `utf16Tag` (a tag no well-formed string gets at that place) and its
 * UTF-16 units: two different strings never feed the same bytes.
 */
function feedString(hash: Hash, value: string, utf8Tag: string, utf16Tag: string): void {
  if (isWellFormed(value)) {
    hash.update(utf8Tag);
    hash.update(value);
  } else {
    hash.update(utf16Tag);
    hash.update(value, 'utf16le');
  }
}

/**
 * Feeds `value` into `hash` in a canonical form: object keys sorted, every
 * type tagged (so `1`, `"1"` and `[1]` differ), bytes as bytes, strings
 * with a lone surrogate as UTF-16 ({@link feedString}). Iterative,
 * cycle-safe, depth-limited; a value with no canonical form (a function, a
 * Map, a class instance, a cycle) is refused with InvalidArgumentError.
 */
function feed(hash: Hash, root: unknown): void {
  const stack: Array<{ value: unknown; depth: number } | string> = [{ value: root, depth: 0 }];
  const open = new Set<object>();
  const closing = new Map<string, object>();
  let seq = 0;
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (typeof item === 'string') {
      hash.update(item.charAt(0));
      const node = closing.get(item);
      if (node !== undefined) {
        open.delete(node);
        closing.delete(item);
      }
      continue;
    }
    const { value, depth } = item;
    if (depth > MAX_DEPTH) refuse(`nested deeper than ${MAX_DEPTH}`);
    switch (typeof value) {
      case 'undefined':
        hash.update('u');
        continue;
      case 'boolean':
        hash.update(value ? 't' : 'f');
        continue;
      case 'number':
        hash.update(`n${String(value)};`);
        continue;
      case 'bigint':
        hash.update(`i${value.toString()};`);
        continue;
      case 'string':
        feedString(hash, value, `s${value.length}:`, `w${value.length}:`);
        continue;
      case 'object':
        break;
      default:
        refuse(`a ${typeof value} has no canonical form`);
    }
    if (value === null) {
      hash.update('z');
      continue;
    }
    if (value instanceof Uint8Array) {
      hash.update(`b${value.byteLength}:`);
      hash.update(value);
      continue;
    }
    if (value instanceof Date) {
      hash.update(`d${Number.isNaN(value.getTime()) ? 'NaN' : value.toISOString()};`);
      continue;
    }
    if (open.has(value)) refuse('a circular structure');
    const token = `${Array.isArray(value) ? ']' : '}'}${seq++}`;
    open.add(value);
    closing.set(token, value);
    stack.push(token);
    if (Array.isArray(value)) {
      hash.update(`[${value.length}:`);
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], depth: depth + 1 });
      continue;
    }
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) refuse('a class instance has no canonical form');
    const keys = Object.keys(value).sort();
    hash.update(`{${keys.length}:`);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i]!;
      stack.push({ value: (value as Record<string, unknown>)[key], depth: depth + 1 });
      stack.push({ value: key, depth: depth + 1 });
    }
  }
}

/**
 * @internal The fingerprint of a value given to `run()`: '' for
 * `undefined` (calls are not compared), else the SHA-256 (hex) of its
 * canonical form.
 */
export function fingerprintValue(value: unknown): string {
  if (value === undefined) return '';
  const hash = createHash('sha256');
  hash.update('v1\n');
  feed(hash, value);
  return hash.digest('hex');
}

/**
 * @internal The fingerprint of an HTTP request: method, path (with query)
 * and body. A body already parsed by a body parser (an object) is hashed in
 * its canonical form, so key order and whitespace do not matter; raw bodies
 * (a Buffer or a string) are hashed as bytes.
 */
export function fingerprintRequest(method: string, path: string, body: unknown): string {
  const hash = createHash('sha256');
  hash.update(`h1\n${method}\n`);
  feedString(hash, path, `${path.length}:`, `w${path.length}:`);
  hash.update('\n');
  if (typeof body === 'string') {
    feedString(hash, body, 's', 'w');
  } else if (body instanceof Uint8Array) {
    hash.update('s');
    hash.update(body);
  } else if (body === undefined || body === null) {
    hash.update('-');
  } else {
    hash.update('j');
    feed(hash, body);
  }
  return hash.digest('hex');
}
