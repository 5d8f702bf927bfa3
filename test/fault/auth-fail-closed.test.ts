/**
 * Promise checked: when Redis (sessions, denylist) is unreachable, authorize
 * fails closed: the request errors (500), it is never let through, and a
 * revoked token never becomes valid again because the denylist is down.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisJwtDenylist } from '../../src/adapters/redis/jwt-denylist.js';
import { RedisSessionAdapter } from '../../src/adapters/redis/session.js';
import { authorize } from '../../src/auth/authorize-express.js';
import { createAuthorizer } from '../../src/auth/authorizer.js';
import { createJwt } from '../../src/auth/jwt.js';
import { JwtError } from '../../src/errors.js';
import { SessionStore } from '../../src/session/session-store.js';
import { uniquePrefix } from '../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';

describe('authorize with Redis down', () => {
  let redis: RedisServer;
  let server: Server;
  let base: string;
  const prefix = uniquePrefix('fail-closed');

  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    server?.close();
    await redis.stop();
  });

  it('fails closed for bearer tokens (denylist) and cookies (sessions), then recovers', async () => {
    // No retries: a command fails as soon as a reconnect attempt fails.
    const client = async () => {
      const c = redis.client({ maxRetriesPerRequest: 0, retryStrategy: () => 50 });
      await c.ping();
      return c;
    };
    const denylist = new RedisJwtDenylist({ connection: await client(), prefix: `${prefix}d:` });
    const sessions = new SessionStore({
      adapter: new RedisSessionAdapter({ connection: await client(), prefix: `${prefix}s:` }),
    });
    const jwt = createJwt({ secret: 'f'.repeat(32), denylist });
    const auth = createAuthorizer({ jwt, sessions });
    const app = express();
    app.get('/me', authorize(auth), (_req, res) => {
      res.json({ ok: true });
    });
    app.use((_err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(500).json({ error: 'unavailable' });
    });
    server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const token = await jwt.sign({ sub: 'u' });
    const revoked = await jwt.sign({ sub: 'u' });
    const session = await sessions.create({}, { userId: 'u' });
    await jwt.verify(revoked); // cached before the revocation
    await jwt.revoke(revoked);
    const get = (headers: Record<string, string>) => fetch(`${base}/me`, { headers }).then((r) => r.status);
    expect(await get({ authorization: `Bearer ${token}` })).toBe(200);
    expect(await get({ cookie: `sid=${session.id}` })).toBe(200);
    expect(await get({ authorization: `Bearer ${revoked}` })).toBe(401);

    await redis.kill();
    const attempts: Array<Record<string, string>> = [
      { authorization: `Bearer ${token}` },
      { authorization: `Bearer ${revoked}` },
      { cookie: `sid=${session.id}` },
    ];
    for (const headers of attempts) expect(await get(headers)).toBe(500);
    const err = await jwt.verify(revoked).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(JwtError); // a back-end failure, not a verdict on the token

    await redis.restart();
    // The server restarted empty (no persistence): sessions are gone, tokens verify again.
    for (let i = 0; i < 100; i++) {
      if ((await get({ authorization: `Bearer ${token}` })) === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await get({ authorization: `Bearer ${token}` })).toBe(200);
    expect(await get({ cookie: `sid=${session.id}` })).toBe(401);
    await sessions.close();
    await denylist.close();
  }, 60_000);
});
