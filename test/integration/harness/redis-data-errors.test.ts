import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRedisDataError, redisFailure } from '../../../src/adapters/redis/connection.js';
import { ConnectionError, CorruptDataError } from '../../../src/errors.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';

describe('redisFailure on a real redis-server', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  async function replyOf(run: () => Promise<unknown>): Promise<unknown> {
    try {
      await run();
    } catch (err) {
      return err;
    }
    throw new Error('expected a reply error');
  }

  it('reports data replies as CorruptDataError naming the key, not as an outage', async () => {
    const redis = server.client();
    await redis.set('str', 'abc');
    await redis.hset('hash', 'f', 'x');
    await redis.set('big', '9223372036854775807');
    const replies = [
      await replyOf(() => redis.hget('str', 'f')),
      await replyOf(() => redis.incrby('str', 1)),
      await replyOf(() => redis.incrby('big', 1)),
      await replyOf(() => redis.incrbyfloat('str', 1.5)),
      await replyOf(() => redis.hincrby('hash', 'f', 1)),
      await replyOf(() => redis.eval("return redis.error_reply('scaleout:data fence is not an integer')", 0)),
      await replyOf(() => redis.eval("return redis.error_reply('ERR scaleout:data x')", 0)),
    ];
    for (const reply of replies) {
      expect(isRedisDataError(reply)).toBe(true);
      const failure = redisFailure('cache get', reply, 'app:k');
      expect(failure).toBeInstanceOf(CorruptDataError);
      expect((failure as CorruptDataError).key).toBe('app:k');
      expect((failure as CorruptDataError).cause).toBe(reply);
    }
  });

  it('reports other replies and lost connections as ConnectionError', async () => {
    const redis = server.client();
    const replies = [
      await replyOf(() => redis.call('NOSUCHCOMMAND')),
      await replyOf(() => redis.eval("return redis.error_reply('LOADING Redis is loading')", 0)),
      new Error('Connection is closed.'),
    ];
    for (const reply of replies) {
      expect(isRedisDataError(reply)).toBe(false);
      expect(redisFailure('cache get', reply)).toBeInstanceOf(ConnectionError);
    }
  });
});
