import type { SessionRecord, SessionTouchOptions } from '../contracts/session.js';
import { CorruptDataError, InvalidArgumentError, PayloadTooLargeError } from '../errors.js';
import { keyArgument, MAX_DURATION_MS, optionsChecker } from '../internal/validate.js';

/**
 * @internal A user id as the store keeps it: a string as given, or a safe
 * integer as its decimal string (the design's `createSession(user.id, …)`,
 * where ids are often numbers). Anything else is refused.
 */
export function userIdString(value: unknown, maxLength: number): string {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw new InvalidArgumentError('userId must be a string or a safe integer', { argument: 'userId' });
    }
    return String(value);
  }
  if (typeof value === 'bigint') {
    throw new InvalidArgumentError('userId must be a string or a safe integer: pass String(id)', {
      argument: 'userId',
    });
  }
  return keyArgument('userId', value, maxLength);
}

/** The UTF-8 size of `text` when it is over `maxBytes`, else undefined (no count for small text). */
function overCap(text: string, maxBytes: number): number | undefined {
  // A UTF-16 unit is 1 to 3 UTF-8 bytes: only text longer than a third of the cap is counted.
  if (text.length * 3 <= maxBytes) return undefined;
  const bytes = Buffer.byteLength(text, 'utf8');
  return bytes > maxBytes ? bytes : undefined;
}

/**
 * @internal Refuses serialized session data over the cap with
 * {@link PayloadTooLargeError} (nothing is stored).
 */
export function checkDataSize(text: string, maxBytes: number): void {
  const bytes = overCap(text, maxBytes);
  if (bytes !== undefined) {
    throw new PayloadTooLargeError(`session data is ${bytes} bytes, over maxDataBytes (${maxBytes})`, {
      bytes,
      maxBytes,
    });
  }
}

/**
 * @internal Checks a record an adapter returned as strictly as the store
 * writes one: data a string within the cap, version a safe integer >= 1,
 * ttl an integer number of ms in range, owner a string or absent. Throws
 * {@link CorruptDataError}.
 */
export function checkRecord(record: SessionRecord, maxBytes: number): void {
  if (
    typeof record !== 'object' ||
    record === null ||
    typeof record.data !== 'string' ||
    !Number.isSafeInteger(record.version) ||
    record.version < 1 ||
    !Number.isInteger(record.ttlMs) ||
    record.ttlMs < 1 ||
    record.ttlMs > MAX_DURATION_MS ||
    (record.userId !== undefined && typeof record.userId !== 'string')
  ) {
    throw new CorruptDataError('session record from the adapter is not what the store writes');
  }
  if (overCap(record.data, maxBytes) !== undefined) {
    throw new CorruptDataError(`stored session data is larger than maxDataBytes (${maxBytes})`);
  }
}

/**
 * @internal True for an id a session adapter accepts (a string of 1 to 1024
 * characters, the rule of {@link checkAdapterInput}): adapters are public,
 * so ids other than SessionStore's 43-character ones can be stored, and
 * whatever `create` accepted, `destroyAllForUser` must be able to end.
 */
export function isAdapterSessionId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 1024;
}

function badInput(argument: string, rule: string): never {
  throw new InvalidArgumentError(`${argument} must be ${rule}`, { argument });
}

/**
 * @internal What a session adapter checks of a direct call (SessionStore
 * validates before calling; adapters are public too): ids and owners are
 * strings of 1 to 1024 characters, data a string, ttlMs an integer number
 * of ms in range, expectedVersion a safe integer >= 1. Throws
 * {@link InvalidArgumentError}; a few typeof checks per call.
 */
export function checkAdapterInput(input: {
  id?: unknown;
  newId?: unknown;
  userId?: unknown;
  data?: unknown;
  ttlMs?: unknown;
  expectedVersion?: unknown;
}): void {
  const text = (name: string, value: unknown) => {
    if (typeof value !== 'string' || value.length === 0 || value.length > 1024) {
      badInput(name, 'a string of 1 to 1024 characters');
    }
  };
  if (typeof input !== 'object' || input === null) badInput('input', 'an object');
  if ('id' in input) text('id', input.id);
  if ('newId' in input) text('newId', input.newId);
  if ('userId' in input && input.userId !== undefined) text('userId', input.userId);
  if ('data' in input && typeof input.data !== 'string') badInput('data', 'a string');
  if (
    'ttlMs' in input &&
    (!Number.isInteger(input.ttlMs) ||
      (input.ttlMs as number) < 1 ||
      (input.ttlMs as number) > MAX_DURATION_MS)
  ) {
    badInput('ttlMs', `an integer number of ms in [1, ${MAX_DURATION_MS}]`);
  }
  if (
    'expectedVersion' in input &&
    (!Number.isSafeInteger(input.expectedVersion) || (input.expectedVersion as number) < 1)
  ) {
    badInput('expectedVersion', 'an integer >= 1');
  }
}

const checkTouchOptions = optionsChecker({
  where: 'session adapter touch() options',
  keys: ['ttlMs'],
  bareNumber: 'ttlMs',
});

/**
 * @internal Checks an adapter's `update()` input (see
 * {@link checkAdapterInput}), where `ttlMs: undefined` means "keep the
 * stored TTL". Throws `InvalidArgumentError`.
 */
export function checkUpdateInput(input: unknown): void {
  if (typeof input !== 'object' || input === null) badInput('input', 'an object');
  const { ttlMs, ...rest } = input as { ttlMs?: unknown };
  checkAdapterInput(ttlMs === undefined ? rest : input);
}

/**
 * @internal Checks an adapter's `touch(id, options)` arguments and returns
 * the TTL to set, `undefined` to keep the stored one. Throws
 * `InvalidArgumentError` / `InvalidOptionsError`.
 */
export function touchTtl(id: unknown, options: SessionTouchOptions | undefined): number | undefined {
  checkTouchOptions(options);
  const ttlMs = options?.ttlMs;
  checkAdapterInput(ttlMs === undefined ? { id } : { id, ttlMs });
  return ttlMs;
}
