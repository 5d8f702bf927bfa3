import { DeserializationError, SerializationError, UnsafePayloadError } from './errors.js';
import type { Serializer } from './types.js';

/**
 * Scans a parsed or to-be-written value for prototype-pollution keys:
 * an own `__proto__` key anywhere, or a `constructor` key whose value is an
 * object with a `prototype` key. Iterative (no recursion limit) and
 * cycle-safe. Throws {@link UnsafePayloadError} with the path of the first
 * offending key.
 */
export function assertSafePayload(value: unknown): void {
  if (typeof value !== 'object' || value === null) return;
  const stack: Array<[unknown, string]> = [[value, '$']];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const [node, path] = stack.pop()!;
    if (typeof node !== 'object' || node === null || seen.has(node)) continue;
    seen.add(node);
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) stack.push([node[i], `${path}[${i}]`]);
      continue;
    }
    if (Object.hasOwn(node, '__proto__')) {
      throw new UnsafePayloadError(`refused payload: "__proto__" key at ${path}`, {
        path: `${path}.__proto__`,
      });
    }
    const record = node as Record<string, unknown>;
    if (Object.hasOwn(node, 'constructor')) {
      const ctor = record.constructor;
      if (typeof ctor === 'object' && ctor !== null && Object.hasOwn(ctor, 'prototype')) {
        throw new UnsafePayloadError(`refused payload: "constructor.prototype" key at ${path}`, {
          path: `${path}.constructor.prototype`,
        });
      }
    }
    for (const key of Object.keys(record)) stack.push([record[key], `${path}.${key}`]);
  }
}

/**
 * A JSON `\uXXXX` escape of a letter of `__proto__` or `prototype` (`_`,
 * `e`, `o`, `p`, `r`, `t`, `y`), in either hex case. JSON.parse decodes
 * escapes inside key names, so `"\u005f_proto__"` is an own `__proto__`
 * key although the text never spells it; any such key has at least one of
 * these escapes.
 */
const ESCAPED_KEY_LETTER = /\\u00(?:5[fF]|6[5fF]|7[0249])/;

/**
 * Fast pre-check: text that cannot contain a pollution key skips the scan.
 * A key decodes to `__proto__` or `prototype` only if the text spells it,
 * or writes one of its letters as an escape (what {@link ESCAPED_KEY_LETTER}
 * finds; `\u` is looked for first, so text without escapes pays a substring
 * search). Conservative: a false positive only costs the scan.
 *
 * @internal
 */
export function mayCarryPollution(text: string): boolean {
  return (
    text.includes('__proto__') ||
    text.includes('prototype') ||
    (text.includes('\\u') && ESCAPED_KEY_LETTER.test(text))
  );
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  return typeof value;
}

/**
 * JSON with guard rails:
 * - `serialize` refuses `undefined`, functions, symbols, BigInt and circular
 *   structures with {@link SerializationError}, and pollution keys with
 *   {@link UnsafePayloadError}, so nothing unsafe is ever stored;
 * - `deserialize` refuses malformed text with {@link DeserializationError} and
 *   pollution keys with {@link UnsafePayloadError}.
 *
 * Both directions see through JSON escapes: `{"\u005f_proto__":{}}` is
 * refused like `{"__proto__":{}}`. The pollution scan (of the parsed value,
 * whose keys are decoded) runs only when the text contains `__proto__`,
 * `prototype`, or a `\u00XX` escape of one of their letters, so ordinary
 * payloads pay for a few substring searches.
 *
 * @example
 * ```ts
 * jsonSerializer.deserialize('{"a":1}'); // { a: 1 }
 * jsonSerializer.deserialize('{"__proto__":{"admin":true}}'); // throws UnsafePayloadError
 * jsonSerializer.deserialize('{"\\u005f_proto__":{"admin":true}}'); // throws UnsafePayloadError too
 * ```
 */
export const jsonSerializer: Serializer = {
  serialize(value: unknown): string {
    const kind = typeof value;
    if (value === undefined || kind === 'function' || kind === 'symbol') {
      throw new SerializationError(`cannot serialize a value of type ${describe(value)}`);
    }
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch (err) {
      const reason =
        err instanceof TypeError && /circular/i.test(err.message)
          ? 'circular structure'
          : err instanceof TypeError && /bigint/i.test(err.message)
            ? 'BigInt value'
            : 'value rejected by JSON.stringify';
      throw new SerializationError(`cannot serialize: ${reason}`, { cause: err });
    }
    if (text === undefined) {
      throw new SerializationError(`cannot serialize a value of type ${describe(value)}`);
    }
    if (mayCarryPollution(text)) assertSafePayload(value);
    return text;
  },

  deserialize<T = unknown>(text: string): T {
    if (typeof text !== 'string') {
      throw new DeserializationError(`cannot deserialize a value of type ${describe(text)}`);
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new DeserializationError(`malformed JSON (${text.length} chars)`, { cause: err });
    }
    if (mayCarryPollution(text)) assertSafePayload(value);
    return value as T;
  },
};
