import RedisMock from 'ioredis-mock';
import { describe, expect, it, vi } from 'vitest';
import { RedisConnectionHandle } from '../../../src/adapters/redis/connection.js';
import { escapeGlob, taggedKey, validatePrefix } from '../../../src/adapters/redis/keys.js';
import { defineRedisScript, isNoScript } from '../../../src/adapters/redis/scripts.js';
import { InvalidArgumentError, InvalidOptionsError } from '../../../src/errors.js';

/** CRC16/XMODEM slot of a key, as Redis Cluster computes it (honouring hash tags). */
function slot(key: string): number {
  let k = key;
  const open = key.indexOf('{');
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) k = key.slice(open + 1, close);
  }
  let crc = 0;
  for (const byte of Buffer.from(k)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

describe('taggedKey', () => {
  it('puts keys of one tag in one cluster slot and other tags elsewhere', () => {
    const a = taggedKey('app:', 'user:1', 'lock');
    const b = taggedKey('app:', 'user:1', 'fence');
    expect(a).toBe('app:{user:1}:lock');
    expect(slot(a)).toBe(slot(b));
    const slots = new Set(Array.from({ length: 50 }, (_, i) => slot(taggedKey('app:', `user:${i}`, 'lock'))));
    expect(slots.size).toBeGreaterThan(40);
  });

  it('digests tags with braces so they cannot break the hash tag', () => {
    const a = taggedKey('p:', 'we}ird{', 'x');
    const b = taggedKey('p:', 'we}ird{', 'y');
    expect(slot(a)).toBe(slot(b));
    expect(a.startsWith('p:{')).toBe(true);
    expect(a).toContain('we}ird{');
    expect(taggedKey('p:', 'x'.repeat(100))).not.toBe(`p:{${'x'.repeat(100)}}`);
  });

  it('leaves the tag to a prefix that has one', () => {
    const key = taggedKey('{tenant}:', 'user:1', 'lock');
    expect(key).toBe('{tenant}:user:1:lock');
    expect(slot(key)).toBe(slot('{tenant}:other'));
  });

  it('validatePrefix refuses whitespace, control characters and absurd length', () => {
    expect(validatePrefix('app:')).toBe('app:');
    for (const bad of ['a b', 'a\nb', 'x'.repeat(300), 5 as unknown as string]) {
      expect(() => validatePrefix(bad)).toThrow(InvalidOptionsError);
    }
  });

  it('validatePrefix refuses a lone surrogate (Redis would store U+FFFD: two prefixes, one namespace)', () => {
    expect(validatePrefix('app:\ud83d\ude00:')).toBe('app:\ud83d\ude00:');
    for (const bad of ['app:\ud800:', 'app:\udfff:', '\udc00\ud800']) {
      expect(() => validatePrefix(bad)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', option: 'prefix' }),
      );
    }
  });

  it('escapeGlob escapes SCAN pattern characters', () => {
    expect(escapeGlob('a*b?c[d]e\\')).toBe('a\\*b\\?c\\[d\\]e\\\\');
  });
});

describe('RedisScript (ioredis-mock)', () => {
  const incrBy = defineRedisScript({
    name: 'incr-by',
    keys: 1,
    lua: "return redis.call('INCRBY', KEYS[1], ARGV[1])",
  });

  it('runs, falling back from EVALSHA to EVAL on NOSCRIPT', async () => {
    const redis = new RedisMock();
    expect(await incrBy.run(redis as never, ['c'], [5])).toBe(5);
    expect(await incrBy.run(redis as never, ['c'], [2])).toBe(7);
    redis.disconnect();
  });

  it('checks the key count before sending anything', async () => {
    const redis = new RedisMock();
    await expect(incrBy.run(redis as never, ['a', 'b'], [])).rejects.toBeInstanceOf(InvalidArgumentError);
    redis.disconnect();
  });

  it('recognises NOSCRIPT replies only', () => {
    expect(isNoScript(new Error('NOSCRIPT No matching script. Please use EVAL.'))).toBe(true);
    expect(isNoScript(new Error('ERR wrong number of arguments'))).toBe(false);
    expect(isNoScript('NOSCRIPT')).toBe(false);
  });
});

describe('RedisConnectionHandle', () => {
  it('leaves a client it was given open, and closes duplicates it made', async () => {
    const redis = new RedisMock();
    const handle = new RedisConnectionHandle(redis as never);
    expect(handle.owned).toBe(false);
    const sub = handle.duplicate();
    const disconnect = vi.spyOn(sub, 'disconnect');
    await handle.close();
    expect(disconnect).toHaveBeenCalled();
    expect(await redis.ping()).toBe('PONG');
    redis.disconnect();
  });

  it('refuses bad connection values without echoing credentials', () => {
    try {
      new RedisConnectionHandle('http://user:hunter2@host');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidOptionsError);
      expect((err as Error).message).not.toContain('hunter2');
    }
    expect(() => new RedisConnectionHandle(42 as never)).toThrow(InvalidOptionsError);
  });
});

describe('RedisScript with a variadic key count', () => {
  const sumLengths = defineRedisScript({
    name: 'sum-lengths',
    keys: 'variadic',
    lua: "local n = 0 for i = 1, #KEYS do n = n + redis.call('STRLEN', KEYS[i]) end return n",
  });

  it('passes however many keys each call gives', async () => {
    const redis = new RedisMock();
    await redis.mset('a', 'xx', 'b', 'yyy', 'c', 'z');
    expect(await sumLengths.run(redis as never, ['a'])).toBe(2);
    expect(await sumLengths.run(redis as never, ['a', 'b', 'c'])).toBe(6);
    redis.disconnect();
  });
});
