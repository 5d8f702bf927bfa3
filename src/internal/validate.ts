import { InvalidArgumentError, InvalidOptionsError } from '../errors.js';

/** Milliseconds in a (non-leap) year: the cap on any duration option. */
export const MAX_DURATION_MS = 365 * 24 * 60 * 60 * 1000;

/**
 * Checks a duration option: a finite integer in `[min, MAX_DURATION_MS]`.
 * Returns it, or throws {@link InvalidOptionsError} naming the option.
 */
export function durationOption(name: string, value: number, min = 1): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > MAX_DURATION_MS) {
    throw new InvalidOptionsError(`${name} must be an integer number of ms in [${min}, ${MAX_DURATION_MS}]`, {
      option: name,
    });
  }
  return value;
}

/**
 * Checks a duration argument passed to a method (same rule as
 * {@link durationOption}), throwing {@link InvalidArgumentError}.
 */
export function durationArgument(name: string, value: number, min = 1): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > MAX_DURATION_MS) {
    throw new InvalidArgumentError(
      `${name} must be an integer number of ms in [${min}, ${MAX_DURATION_MS}]`,
      {
        argument: name,
      },
    );
  }
  return value;
}

/**
 * Checks a `clock` option: absent, or an object with `now()` and
 * `monotonic()` (a `Clock`). Throws {@link InvalidOptionsError}
 * naming `clock`.
 */
export function clockOption(clock: unknown): void {
  if (clock === undefined) return;
  const c = clock as { now?: unknown; monotonic?: unknown } | null;
  if (
    typeof c !== 'object' ||
    c === null ||
    typeof c.now !== 'function' ||
    typeof c.monotonic !== 'function'
  ) {
    throw new InvalidOptionsError('clock must have now() and monotonic()', { option: 'clock' });
  }
}

/** `String.prototype.isWellFormed` (Node 20), which the ES2023 lib in use does not declare. */
interface WellFormedString {
  isWellFormed(): boolean;
}

/**
 * True when `value` is well-formed UTF-16: no lone surrogate (a high
 * surrogate not followed by a low one, or a low one not preceded by a high
 * one). A lone surrogate has no UTF-8 form: Redis (and any UTF-8 store)
 * keeps U+FFFD in its place, so `'a\ud800'`, `'a\udfff'` and `'a\ufffd'`
 * would name one key. One native scan; a Latin-1 string answers at once.
 */
export function isWellFormed(value: string): boolean {
  return (value as unknown as WellFormedString).isWellFormed();
}

/**
 * Checks a key-like string: non-empty, at most `maxLength` UTF-16 units, no
 * control characters, well-formed UTF-16 (no lone surrogate: see
 * {@link isWellFormed}). Throws {@link InvalidArgumentError}; the message
 * never echoes the value.
 */
export function keyArgument(name: string, value: unknown, maxLength = 1024): string {
  if (typeof value !== 'string') {
    throw new InvalidArgumentError(
      `${name} must be a string, got ${value === null ? 'null' : typeof value}`,
      {
        argument: name,
      },
    );
  }
  if (value.length === 0) throw new InvalidArgumentError(`${name} must not be empty`, { argument: name });
  if (value.length > maxLength) {
    throw new InvalidArgumentError(`${name} is longer than ${maxLength} characters`, { argument: name });
  }
  if (hasControlCharacter(value)) {
    throw new InvalidArgumentError(`${name} must not contain control characters`, { argument: name });
  }
  if (!isWellFormed(value)) {
    throw new InvalidArgumentError(`${name} must be well-formed Unicode (no lone surrogate)`, {
      argument: name,
    });
  }
  return value;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/** @internal True when `value` holds a C0 control character or DEL (a loop for short keys: cheaper than a regex). */
export function hasControlCharacter(value: string): boolean {
  if (value.length > 64) return CONTROL_CHARACTER.test(value);
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** What {@link optionsChecker} needs to know about one options object. */
export interface OptionsShape {
  /** Where the object goes, for messages: `'DistributedCache options'`, `'cache.set() options'`. */
  readonly where: string;
  /** Every key the object may hold. */
  readonly keys: readonly string[];
  /**
   * Unknown keys people are known to write, mapped to the option meant
   * (`expiresIn` → `expiresInMs`, `ttl` → `ttlMs`). Keys close to a known
   * one (case, a missing `Ms`, one or two typos) are suggested without it.
   */
  readonly hints?: Readonly<Record<string, string>>;
  /**
   * For objects that the design's code passed a bare number to (a TTL in
   * seconds): the option the number meant, named in the refusal
   * (`'ttlMs'` → "pass { ttlMs: <milliseconds> }").
   */
  readonly bareNumber?: string;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The known key an unknown one probably meant, or undefined. */
export function suggestOption(
  key: string,
  known: readonly string[],
  hints?: Readonly<Record<string, string>>,
): string | undefined {
  const hinted = hints !== undefined && Object.hasOwn(hints, key) ? hints[key] : undefined;
  if (hinted !== undefined) return hinted;
  const lower = key.toLowerCase();
  for (const name of known) if (name.toLowerCase() === lower) return name;
  for (const name of known) {
    const bare = name.endsWith('Ms') ? name.slice(0, -2).toLowerCase() : undefined;
    if (bare !== undefined && (bare === lower || `${bare}seconds` === lower || `${bare}s` === lower))
      return name;
    if (`${lower}ms` === name.toLowerCase()) return name;
  }
  let best: string | undefined;
  let bestDistance = key.length <= 4 ? 1 : 2;
  for (const name of known) {
    const distance = editDistance(lower, name.toLowerCase());
    if (distance <= bestDistance) {
      best = name;
      bestDistance = distance - 1;
    }
  }
  return best;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') {
    const name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor
      ?.name;
    return typeof name === 'string' && name !== '' ? `an instance of ${name}` : 'an object';
  }
  return `a ${typeof value}`;
}

/**
 * @internal True for a plain object: `{}` or `Object.create(null)`, not an
 * array, a class instance or a primitive.
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Builds the check of one options object: `undefined` passes; anything but
 * a plain object (a bare number, a string, an array, a class instance such
 * as a cache passed where `{ adapter }` goes) and any key not in
 * `shape.keys` throw {@link InvalidOptionsError} naming the key and, when
 * one is close, the option meant. Build the checker once (module scope);
 * a call allocates nothing for a valid object.
 *
 * @example
 * ```ts
 * const checkSetOptions = optionsChecker({ where: 'cache.set() options', keys: ['ttlMs', 'graceMs'], bareNumber: 'ttlMs' });
 * checkSetOptions({ ttl: 5 }); // throws: unknown option "ttl" (did you mean "ttlMs"?)
 * ```
 */
export function optionsChecker(shape: OptionsShape): (value: unknown) => void {
  const known = new Set(shape.keys);
  const fields = shape.keys.slice(0, 4).join(', ') + (shape.keys.length > 4 ? ', ...' : '');
  return (value: unknown): void => {
    if (value === undefined) return;
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !isPlainObject(value)) {
      let message = `${shape.where} must be an options object ({ ${fields} }), got ${describeValue(value)}`;
      if (typeof value === 'number' && shape.bareNumber !== undefined) {
        message += `: pass { ${shape.bareNumber}: <${shape.bareNumber.endsWith('Ms') ? 'milliseconds' : 'value'}> }`;
        if (shape.bareNumber.endsWith('Ms')) message += ' (a bare number is not read as seconds or as ms)';
      }
      throw new InvalidOptionsError(
        message,
        typeof value === 'number' && shape.bareNumber !== undefined ? { option: shape.bareNumber } : {},
      );
    }
    for (const key in value) {
      if (known.has(key)) continue;
      if (!Object.hasOwn(value, key)) continue;
      const suggestion = suggestOption(key, shape.keys, shape.hints);
      const printable = key.length > 64 ? `${key.slice(0, 64)}...` : key;
      throw new InvalidOptionsError(
        `${shape.where}: unknown option ${JSON.stringify(printable)}${suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`}; known: ${shape.keys.join(', ')}`,
        suggestion === undefined ? { option: printable } : { option: printable, suggestion },
      );
    }
  };
}

/**
 * Builds the check of `on()`/`off()` arguments for an emitter whose events
 * are `events`: an unknown event name (a typo would otherwise subscribe to
 * nothing, silently) or a listener that is not a function is refused with
 * {@link InvalidArgumentError}. Build once at module scope; call per use.
 *
 * @example
 * ```ts
 * const checkListener = listenerChecker(['hit', 'miss']);
 * checkListener('hit', () => {});
 * ```
 */
export function listenerChecker(events: Iterable<string>): (event: unknown, listener: unknown) => void {
  const known: ReadonlySet<string> = new Set(events);
  const list = [...known].join(', ');
  return (event, listener) => {
    if (typeof event !== 'string' || !known.has(event)) {
      throw new InvalidArgumentError(`event must be one of ${list}`, { argument: 'event' });
    }
    if (typeof listener !== 'function') {
      throw new InvalidArgumentError('listener must be a function', { argument: 'listener' });
    }
  };
}
