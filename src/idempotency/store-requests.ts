import type {
  IdempotencyClaimRequest,
  IdempotencyCompleteRequest,
  IdempotencyReleaseRequest,
} from '../contracts/idempotency.js';
import { InvalidArgumentError } from '../errors.js';
import { durationArgument, hasControlCharacter, isWellFormed, keyArgument } from '../internal/validate.js';

/** Longest owner token or fingerprint a store accepts, in characters. */
export const MAX_TOKEN_LENGTH = 128;

/** Longest stored response a store accepts, in characters (the primitive's cap is far lower). */
export const MAX_STORED_RESPONSE_LENGTH = 64 * 1024 * 1024;

function requestObject(request: unknown): Record<string, unknown> {
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    throw new InvalidArgumentError('the request must be an object', { argument: 'request' });
  }
  return request as Record<string, unknown>;
}

function token(name: string, value: unknown, allowEmpty: boolean): string {
  if (
    typeof value !== 'string' ||
    (!allowEmpty && value.length === 0) ||
    value.length > MAX_TOKEN_LENGTH ||
    hasControlCharacter(value) ||
    !isWellFormed(value)
  ) {
    throw new InvalidArgumentError(
      `${name} must be a string of ${allowEmpty ? 0 : 1} to ${MAX_TOKEN_LENGTH} characters, no control characters or lone surrogates`,
      { argument: name },
    );
  }
  return value;
}

/**
 * @internal Checks what a store is asked to claim (stores are public: a
 * caller other than the primitive may send anything). Throws
 * {@link InvalidArgumentError} naming the field; never echoes values.
 */
export function checkClaimRequest(request: unknown): IdempotencyClaimRequest {
  const r = requestObject(request);
  keyArgument('key', r.key);
  token('owner', r.owner, false);
  token('fingerprint', r.fingerprint, true);
  durationArgument('leaseMs', r.leaseMs as number);
  return request as IdempotencyClaimRequest;
}

/** @internal Checks what a store is asked to complete. */
export function checkCompleteRequest(request: unknown): IdempotencyCompleteRequest {
  const r = requestObject(request);
  keyArgument('key', r.key);
  token('owner', r.owner, false);
  token('fingerprint', r.fingerprint, true);
  if (typeof r.response !== 'string' || r.response.length > MAX_STORED_RESPONSE_LENGTH) {
    throw new InvalidArgumentError(
      `response must be a string of at most ${MAX_STORED_RESPONSE_LENGTH} characters`,
      { argument: 'response' },
    );
  }
  durationArgument('ttlMs', r.ttlMs as number);
  return request as IdempotencyCompleteRequest;
}

/** @internal Checks what a store is asked to release. */
export function checkReleaseRequest(request: unknown): IdempotencyReleaseRequest {
  const r = requestObject(request);
  keyArgument('key', r.key);
  token('owner', r.owner, false);
  return request as IdempotencyReleaseRequest;
}
