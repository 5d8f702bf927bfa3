import { describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../../../src/errors.js';

describe('RedisCacheAdapter options', () => {
  it('validates prefix and scanCount at construction', async () => {
    const { redisCacheAdapter } = await import('../../../../src/adapters/redis/cache.js');
    const { default: RedisMock } = await import('ioredis-mock');
    const connection = new RedisMock() as never;
    expect(() => redisCacheAdapter({ connection, prefix: 'bad prefix' })).toThrow(InvalidOptionsError);
    expect(() => redisCacheAdapter({ connection, scanCount: 0 })).toThrow(InvalidOptionsError);
    expect(() => redisCacheAdapter({ connection: 'http://nope' })).toThrow(InvalidOptionsError);
    await redisCacheAdapter({ connection })[Symbol.asyncDispose]();
  });
});
