import { createHash } from 'node:crypto';
import { InvalidOptionsError } from '../../errors.js';
import { isWellFormed } from '../../internal/validate.js';

/**
 * Checks a key prefix. A prefix may hold its own hash tag (`{app}:`); then
 * every key of the adapter lands in one Cluster slot, which is valid, just
 * not spread out.
 *
 * @example
 * ```ts
 * const prefix = validatePrefix(options.prefix ?? 'scaleout:');
 * ```
 */
export function validatePrefix(prefix: string): string {
  if (typeof prefix !== 'string') {
    throw new InvalidOptionsError('prefix must be a string', { option: 'prefix' });
  }
  if (prefix.length > 256)
    throw new InvalidOptionsError('prefix is longer than 256 characters', { option: 'prefix' });
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f\s]/.test(prefix)) {
    throw new InvalidOptionsError('prefix must not contain whitespace or control characters', {
      option: 'prefix',
    });
  }
  if (!isWellFormed(prefix)) {
    throw new InvalidOptionsError('prefix must be well-formed Unicode (no lone surrogate)', {
      option: 'prefix',
    });
  }
  return prefix;
}

function hasHashTag(text: string): boolean {
  const open = text.indexOf('{');
  if (open === -1) return false;
  const close = text.indexOf('}', open + 1);
  return close > open + 1;
}

/**
 * The hash-tag body for `part`: `part` itself when it is brace-free and at
 * most 64 chars, else a short digest of it (a brace inside a tag would cut
 * it short and split keys across slots).
 */
export function tagBody(part: string): string {
  if (part.length <= 64 && !part.includes('{') && !part.includes('}')) return part;
  return createHash('sha1').update(part).digest('base64url').slice(0, 16);
}

/**
 * Builds a key whose Cluster slot is decided by `tag`, so that several keys
 * of one logical item (a lock and its fencing counter, a value and its
 * refresh lock) can be touched by one script on Redis Cluster:
 * `taggedKey('app:', 'user:1', 'lock')` is `app:{user:1}:lock`.
 *
 * When the prefix already has a hash tag, that tag decides the slot for
 * everything and no second tag is added.
 *
 * @example
 * ```ts
 * taggedKey('app:', 'user:42', 'lock'); // 'app:{user:42}:lock'
 * ```
 */
export function taggedKey(prefix: string, tag: string, suffix?: string): string {
  let key: string;
  if (hasHashTag(prefix)) {
    key = `${prefix}${tag}`;
  } else {
    const body = tagBody(tag);
    key = body === tag ? `${prefix}{${tag}}` : `${prefix}{${body}}:${tag}`;
  }
  return suffix === undefined ? key : `${key}:${suffix}`;
}

/**
 * Escapes glob characters so that `prefix` can be used in `SCAN MATCH prefix*`.
 *
 * @example
 * ```ts
 * const pattern = `${escapeGlob(prefix)}*`;
 * ```
 */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
