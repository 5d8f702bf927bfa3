import express from 'express';
import Fastify from 'fastify';
import { describe, expectTypeOf, it } from 'vitest';
import { idempotency as idempotencyExpress } from '../../src/express.js';
import { idempotency as idempotencyFastify } from '../../src/fastify.js';
import {
  Idempotency,
  type IdempotencyConflictEvent,
  type IdempotencyStore,
  idempotent,
  memoryIdempotencyStore,
} from '../../src/index.js';
import { redisIdempotencyStore } from '../../src/redis.js';

describe('Idempotency types', () => {
  it('run() and idempotent() resolve to the awaited result of fn', () => {
    const keys = new Idempotency({ adapter: memoryIdempotencyStore() });
    expectTypeOf(keys.run('k', () => 1)).toEqualTypeOf<Promise<number>>();
    expectTypeOf(keys.run('k', async () => ({ id: 'r' }))).toEqualTypeOf<Promise<{ id: string }>>();
    expectTypeOf(idempotent('k', async () => 'x', { idempotency: keys })).toEqualTypeOf<Promise<string>>();
    // @ts-expect-error idempotent() needs the Idempotency
    void idempotent('k', () => 1, {});
    // @ts-expect-error ttl is not an option (ttlMs is)
    void keys.run('k', () => 1, { ttl: 5 });
  });

  it('types event payloads by name', () => {
    const keys = new Idempotency();
    keys.on('conflict', (e) => expectTypeOf(e).toEqualTypeOf<IdempotencyConflictEvent>());
    keys.on('replayed', (e) => expectTypeOf(e.source).toEqualTypeOf<'run' | 'http' | 'queue'>());
    // @ts-expect-error not an event
    keys.on('nope', () => {});
  });

  it('stores implement the contract', () => {
    expectTypeOf(memoryIdempotencyStore()).toMatchTypeOf<IdempotencyStore>();
    expectTypeOf(
      redisIdempotencyStore({ connection: 'redis://127.0.0.1:6379' }),
    ).toMatchTypeOf<IdempotencyStore>();
  });

  it("the Express middleware leaves the handlers' body type as Express infers it", () => {
    const app = express();
    app.post('/pay', express.json(), idempotencyExpress(new Idempotency()), (req, res) => {
      expectTypeOf(req.body).toBeAny();
      res.json({ ok: true });
    });
  });

  it('the Fastify hook fits preHandler', () => {
    const app = Fastify();
    app.post('/pay', { preHandler: idempotencyFastify(new Idempotency()) }, async () => ({ ok: true }));
  });
});
