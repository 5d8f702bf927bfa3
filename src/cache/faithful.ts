import { SerializationError } from '../errors.js';

/**
 * What the cache stores must come back as it was written: the L1 tier of
 * the writing process holds the serializer's round trip of a value
 * (`deserialize(serialize(value))`, the same thing every other instance
 * reads from the adapter), and a value whose round trip is other data is
 * refused instead of being changed silently.
 *
 * With the default JSON serializer that refuses: Map, Set, Date, RegExp,
 * Error, Buffer and typed arrays, class instances (they would come back as
 * plain objects or strings), boxed primitives, `NaN` / `Infinity` (JSON
 * writes `null`), `undefined` or a hole in an array (`null`), and a
 * function or symbol as a property value (dropped). Accepted as they read
 * the same: a property whose value is `undefined` (dropped; reading it
 * still gives `undefined`), `-0` (comes back as `0`, and `-0 === 0`),
 * null-prototype objects. A custom serializer that keeps Maps or Dates
 * passes this check for them.
 */

/** One pair still to compare: the written value and its round trip, and where it sits. */
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

/** Why `value` does not survive the round trip, as told to the caller. */
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

function refuse(value: unknown, at: Pending | undefined, inArray: boolean): never {
  throw new SerializationError(
    `cannot cache ${describe(value, inArray)} at ${pathOf(at)}: every instance would read something other than what was written; convert it to plain data first`,
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
 *
 * @example
 * ```ts
 * assertFaithful({ at: new Date() }, JSON.parse(JSON.stringify({ at: new Date() }))); // throws
 * ```
 */
export function assertFaithful(value: unknown, copy: unknown): void {
  if (typeof value !== 'object' || value === null) {
    if (!samePrimitive(value, copy)) refuse(value, undefined, false);
    return;
  }
  const stack: Pending[] = [{ a: value, b: copy, parent: undefined, key: undefined }];
  while (stack.length > 0) {
    const entry = stack.pop()!;
    const a = entry.a as object;
    const b = entry.b;
    if (typeof b !== 'object' || b === null) refuse(a, entry, false);
    const protoA = Object.getPrototypeOf(a);
    const protoB = Object.getPrototypeOf(b);
    if (protoA !== protoB && !(isPlainPrototype(protoA) && isPlainPrototype(protoB))) refuse(a, entry, false);
    if (Array.isArray(a)) {
      const copyArray = b as unknown[];
      if (a.length !== copyArray.length) refuse(a, entry, false);
      for (let i = 0; i < a.length; i++) {
        const x = a[i];
        if (typeof x === 'object' && x !== null) stack.push({ a: x, b: copyArray[i], parent: entry, key: i });
        else if (!samePrimitive(x, copyArray[i])) {
          refuse(x, { a: x, b: copyArray[i], parent: entry, key: i }, true);
        }
      }
      continue;
    }
    if (a instanceof Date) {
      if (!samePrimitive(a.getTime(), (b as Date).getTime())) refuse(a, entry, false);
      continue;
    }
    if (a instanceof Map || a instanceof Set) {
      const entriesA = [...(a as Map<unknown, unknown>).entries()];
      const entriesB = [...(b as Map<unknown, unknown>).entries()];
      if (entriesA.length !== entriesB.length) refuse(a, entry, false);
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
      if (!Object.hasOwn(recordB, key)) refuse(x, { a: x, b: undefined, parent: entry, key }, false);
      const y = recordB[key];
      if (typeof x === 'object' && x !== null) stack.push({ a: x, b: y, parent: entry, key });
      else if (!samePrimitive(x, y)) refuse(x, { a: x, b: y, parent: entry, key }, false);
    }
    if (Object.keys(recordB).length !== kept) refuse(a, entry, false);
  }
}
