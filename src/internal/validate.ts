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
 * Checks a key-like string: non-empty, at most `maxLength` UTF-16 units, no
 * control characters. Throws {@link InvalidArgumentError}; the message never
 * echoes the value.
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
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw new InvalidArgumentError(`${name} must not contain control characters`, { argument: name });
  }
  return value;
}
