import { SerializationError } from '../errors.js';
import { jsonSerializer } from '../serializer.js';
import type { Serializer } from '../types.js';

/**
 * A value written through the serializer must come back as it was written:
 * a value whose round trip (`deserialize(serialize(value))`) is other data
 * is refused with {@link SerializationError}, never changed silently. The
 * cache (its L1 holds the round trip, what every other instance reads), the
 * queue's `publish` (what consumers receive) and the session store's writes
 * (what the next request reads) all apply it, and `Idempotency.run()`
 * keeps a result that fails it for no replay (a repeat would get other data).
 *
 * With the default JSON serializer that refuses: Map, Set, Date, RegExp,
 * Error, Buffer and typed arrays, class instances (they would come back as
 * plain objects or strings), boxed primitives, `NaN` / `Infinity` (JSON
 * writes `null`), `undefined` or a hole in an array (`null`), a function or
 * symbol as a property value (dropped), and an object whose `toJSON` gives
 * other data. Accepted as they read the same: a property whose value is
 * `undefined` (dropped; reading it still gives `undefined`), `-0` (comes
 * back as `0`, and `-0 === 0`), null-prototype objects. A custom serializer
 * that keeps Maps or Dates passes this check for them. (BigInt, cycles and
 * pollution keys never get this far: the JSON serializer refuses them.)
 */

/** What was being written: named in the refusal. */
export type FaithfulWrite = 'cache' | 'publish' | 'session' | 'idempotency';

const WRITES: Record<FaithfulWrite, { verb: string; because: string }> = {
  cache: { verb: 'cache', because: 'every instance would read something other than what was written' },
  publish: { verb: 'publish', because: 'consumers would receive something other than what was published' },
  session: {
    verb: 'store in a session',
    because: 'the session would read back something other than what was written',
  },
  idempotency: {
    verb: 'keep for replay',
    because: "a repeat would get something other than the first call's result",
  },
};

/** One value still to check (and, for the compare, its round trip), and where it sits. */
interface Pending {
  readonly a: unknown;
  readonly b: unknown;
  readonly parent: Pending | undefined;
  readonly key: string | number | undefined;
}

function pathOf(entry: Pending | undefined): string {
  const parts: string[] = [];
  for (let e = entry; e !== undefined && e.key !== undefined; e = e.parent) {
    parts.push(
      typeof e.key === 'number' ? `[${e.key}]` : `.${e.key.length > 40 ? `${e.key.slice(0, 40)}...` : e.key}`,
    );
  }
  return `$${parts.reverse().join('')}`;
}

function className(value: object): string | undefined {
  const proto = Object.getPrototypeOf(value);
  if (proto === null || proto === Object.prototype) return undefined;
  const name = (proto as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' ? name : 'an unnamed class';
}

/** Why `value` does not survive the round trip, as told to the caller (never the value itself). */
function describe(value: unknown, inArray: boolean): string {
  if (value === undefined) return inArray ? 'undefined in an array (comes back as null)' : 'undefined';
  if (typeof value === 'number') {
    return Number.isFinite(value) ? 'a number that comes back as another' : `${value} (JSON writes null)`;
  }
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (typeof value === 'bigint') return 'a BigInt';
  if (typeof value === 'object' && value !== null) {
    if (value instanceof Date)
      return 'a Date (it comes back as a string: store date.toISOString() or date.getTime())';
    if (value instanceof Map) return 'a Map (it comes back as {}: store Object.fromEntries(map) or [...map])';
    if (value instanceof Set) return 'a Set (it comes back as {}: store [...set])';
    if (value instanceof Error) return 'an Error (it comes back as {})';
    const name = className(value);
    if (name !== undefined) return `an instance of ${name} (it comes back as other data)`;
  }
  return 'a value that comes back as other data';
}

function refuse(write: FaithfulWrite, value: unknown, at: Pending | undefined, inArray: boolean): never {
  const { verb, because } = WRITES[write];
  throw new SerializationError(
    `cannot ${verb} ${describe(value, inArray)} at ${pathOf(at)}: ${because}; convert it to plain data first`,
  );
}

function samePrimitive(a: unknown, b: unknown): boolean {
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}

function isPlainPrototype(proto: unknown): boolean {
  return proto === Object.prototype || proto === null;
}

/**
 * Throws {@link SerializationError} unless `copy` (the serializer's round
 * trip of `value`) is the same data as `value` (see the module notes for
 * what counts as the same). Iterative: no recursion limit on deep values.
 * `write` names what was being written in the message.
 *
 * @example
 * ```ts
 * assertFaithful({ at: new Date() }, JSON.parse(JSON.stringify({ at: new Date() })), 'cache'); // throws
 * ```
 */
export function assertFaithful(value: unknown, copy: unknown, write: FaithfulWrite): void {
  if (typeof value !== 'object' || value === null) {
    if (!samePrimitive(value, copy)) refuse(write, value, undefined, false);
    return;
  }
  const stack: Pending[] = [{ a: value, b: copy, parent: undefined, key: undefined }];
  while (stack.length > 0) {
    const entry = stack.pop()!;
    const a = entry.a as object;
    const b = entry.b;
    if (typeof b !== 'object' || b === null) refuse(write, a, entry, false);
    const protoA = Object.getPrototypeOf(a);
    const protoB = Object.getPrototypeOf(b);
    if (protoA !== protoB && !(isPlainPrototype(protoA) && isPlainPrototype(protoB))) {
      refuse(write, a, entry, false);
    }
    if (Array.isArray(a)) {
      const copyArray = b as unknown[];
      if (a.length !== copyArray.length) refuse(write, a, entry, false);
      for (let i = 0; i < a.length; i++) {
        const x = a[i];
        if (typeof x === 'object' && x !== null) stack.push({ a: x, b: copyArray[i], parent: entry, key: i });
        else if (!samePrimitive(x, copyArray[i])) {
          refuse(write, x, { a: x, b: copyArray[i], parent: entry, key: i }, true);
        }
      }
      continue;
    }
    if (a instanceof Date) {
      if (!samePrimitive(a.getTime(), (b as Date).getTime())) refuse(write, a, entry, false);
      continue;
    }
    if (a instanceof Map || a instanceof Set) {
      const entriesA = [...(a as Map<unknown, unknown>).entries()];
      const entriesB = [...(b as Map<unknown, unknown>).entries()];
      if (entriesA.length !== entriesB.length) refuse(write, a, entry, false);
      for (let i = 0; i < entriesA.length; i++) {
        stack.push({ a: entriesA[i], b: entriesB[i], parent: entry, key: i });
      }
      continue;
    }
    const recordA = a as Record<string, unknown>;
    const recordB = b as Record<string, unknown>;
    let kept = 0;
    for (const key of Object.keys(recordA)) {
      const x = recordA[key];
      if (x === undefined && !Object.hasOwn(recordB, key)) continue;
      kept++;
      if (!Object.hasOwn(recordB, key)) refuse(write, x, { a: x, b: undefined, parent: entry, key }, false);
      const y = recordB[key];
      if (typeof x === 'object' && x !== null) stack.push({ a: x, b: y, parent: entry, key });
      else if (!samePrimitive(x, y)) refuse(write, x, { a: x, b: y, parent: entry, key }, false);
    }
    if (Object.keys(recordB).length !== kept) refuse(write, a, entry, false);
  }
}

/** Thrown inside {@link walkJson} when the walk cannot decide and the full compare must. */
const UNDECIDED = Symbol('undecided');

function hasToJson(value: object): boolean {
  return typeof (value as { toJSON?: unknown }).toJSON === 'function';
}

/**
 * {@link assertFaithful} against the JSON round trip without making it:
 * walks `value` once, in the same order, refusing what JSON writes as other
 * data. JSON's output is fixed by the value's shape, except where a
 * `toJSON` method decides it: that rare case throws {@link UNDECIDED}.
 */
function walkJson(value: unknown, write: FaithfulWrite): void {
  if (typeof value !== 'object' || value === null) {
    // After serialize: a string, boolean, null or number.
    if (typeof value === 'number' && !Number.isFinite(value)) refuse(write, value, undefined, false);
    return;
  }
  if (hasToJson(value)) throw UNDECIDED;
  const stack: Pending[] = [{ a: value, b: undefined, parent: undefined, key: undefined }];
  while (stack.length > 0) {
    const entry = stack.pop()!;
    const a = entry.a as object;
    const proto = Object.getPrototypeOf(a);
    if (Array.isArray(a)) {
      // An array JSON writes as one, read back with Array.prototype.
      if (proto !== Array.prototype) refuse(write, a, entry, false);
      for (let i = 0; i < a.length; i++) {
        const x: unknown = a[i];
        if (typeof x === 'object' && x !== null) {
          if (hasToJson(x)) throw UNDECIDED;
          stack.push({ a: x, b: undefined, parent: entry, key: i });
        } else if (x === undefined || typeof x === 'function' || typeof x === 'symbol') {
          refuse(write, x, { a: x, b: undefined, parent: entry, key: i }, true);
        } else if (typeof x === 'number' && !Number.isFinite(x)) {
          refuse(write, x, { a: x, b: undefined, parent: entry, key: i }, true);
        }
      }
      continue;
    }
    // Anything but a plain object comes back as a plain object or a primitive.
    if (!isPlainPrototype(proto)) refuse(write, a, entry, false);
    const record = a as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const x = record[key];
      if (typeof x === 'object' && x !== null) {
        if (hasToJson(x)) throw UNDECIDED;
        stack.push({ a: x, b: undefined, parent: entry, key });
      } else if (typeof x === 'function' || typeof x === 'symbol') {
        refuse(write, x, { a: x, b: undefined, parent: entry, key }, false);
      } else if (typeof x === 'number' && !Number.isFinite(x)) {
        refuse(write, x, { a: x, b: undefined, parent: entry, key }, false);
      }
    }
  }
}

/**
 * Refuses `value`, just serialized by `serializer`, with
 * {@link SerializationError} unless it reads back as it was written, the
 * way {@link assertFaithful} decides against `readBack()` (the serializer's
 * round trip of it). For the default JSON serializer `readBack` is not
 * called: a walk of `value` gives the same verdict (and the same message)
 * for a fraction of the cost, falling back to the round trip only for a
 * value with a `toJSON` method. Call it after `serialize` succeeded (which
 * refuses BigInt, cycles and pollution keys).
 *
 * @example
 * ```ts
 * const text = serializer.serialize(message);
 * assertWritesFaithfully(message, serializer, 'publish', () => serializer.deserialize(text));
 * ```
 */
export function assertWritesFaithfully(
  value: unknown,
  serializer: Serializer,
  write: FaithfulWrite,
  readBack: () => unknown,
): void {
  if (serializer === jsonSerializer) {
    try {
      walkJson(value, write);
      return;
    } catch (err) {
      if (err !== UNDECIDED) throw err;
    }
  }
  assertFaithful(value, readBack(), write);
}
