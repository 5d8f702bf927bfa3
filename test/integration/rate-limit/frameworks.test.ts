import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisRateLimitAdapter } from '../../../src/adapters/redis/rate-limit.js';
import { authorize as authorizeExpress } from '../../../src/auth/authorize-express.js';
import { authorize as authorizeFastify } from '../../../src/auth/authorize-fastify.js';
import { authorize as authorizeKoa } from '../../../src/auth/authorize-koa.js';
import { authorizeNode } from '../../../src/auth/authorize-node.js';
import { createJwt, type Jwt } from '../../../src/auth/jwt.js';
import { rateLimit as rateLimitExpress } from '../../../src/rate-limit/rate-limit-express.js';
import { rateLimit as rateLimitFastify } from '../../../src/rate-limit/rate-limit-fastify.js';
import { rateLimit as rateLimitKoa } from '../../../src/rate-limit/rate-limit-koa.js';
import { rateLimitNode } from '../../../src/rate-limit/rate-limit-node.js';
import { RateLimiter } from '../../../src/rate-limit/rate-limiter.js';
import { uniquePrefix } from '../../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

interface Limiters {
  byIp: RateLimiter;
  bySubject: RateLimiter;
}

/**
 * Every app serves GET /ip (limited by client address, 2 per minute) and
 * GET /me (authorize, then limited by subject, 2 per minute).
 */
async function scenario(base: string, tokens: { alice: string; bob: string }): Promise<void> {
  const get = (path: string, token?: string) =>
    fetch(`${base}${path}`, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  const first = await get('/ip');
  expect(first.status).toBe(200);
  expect(first.headers.get('ratelimit-policy')).toBe('"ip";q=2;w=60');
  expect(first.headers.get('ratelimit')).toBe('"ip";r=1;t=30');
  expect(first.headers.get('retry-after')).toBeNull();
  expect((await get('/ip')).headers.get('ratelimit')).toBe('"ip";r=0;t=60');
  const limited = await get('/ip');
  expect(limited.status).toBe(429);
  expect(limited.headers.get('retry-after')).toBe('30');
  expect(limited.headers.get('ratelimit')).toBe('"ip";r=0;t=60');
  expect(limited.headers.get('content-type')).toMatch(/^application\/json/);
  expect(await limited.json()).toMatchObject({ error: 'rate_limited', retryAfterMs: expect.any(Number) });

  expect((await get('/me')).status).toBe(401); // authorize runs first
  expect((await get('/me', tokens.alice)).status).toBe(200);
  const second = await get('/me', tokens.alice);
  expect(second.status).toBe(200);
  expect(await second.json()).toEqual({ sub: 'alice' });
  expect((await get('/me', tokens.alice)).status).toBe(429);
  // Another subject from the same address has its own count.
  expect((await get('/me', tokens.bob)).status).toBe(200);
}

describe('rateLimit middleware on real frameworks, limits in real Redis', () => {
  let redis: RedisServer;
  let jwt: Jwt;
  let tokens: { alice: string; bob: string };
  const all: RateLimiter[] = [];
  beforeAll(async () => {
    redis = await startRedisServer();
    jwt = createJwt({ secret: 's'.repeat(32) });
    tokens = { alice: await jwt.sign({ sub: 'alice' }), bob: await jwt.sign({ sub: 'bob' }) };
  });
  afterAll(async () => {
    for (const l of all) await l.close();
    await jwt.close();
    await redis.stop();
  });
  const limiters = (): Limiters => {
    const make = (name: string) => {
      const l = new RateLimiter({
        adapter: redisRateLimitAdapter({ connection: redis.client(), prefix: uniquePrefix('mw') }),
        name,
        limits: { limit: 2, windowMs: 60_000 },
      });
      all.push(l);
      return l;
    };
    return { byIp: make('ip'), bySubject: make('user') };
  };

  it('node:http', async () => {
    const { byIp, bySubject } = limiters();
    const byIpLimit = rateLimitNode({ limiter: byIp });
    const bySubjectLimit = rateLimitNode({ limiter: bySubject, key: 'subject' });
    const guard = authorizeNode({ jwt });
    const server = createServer(async (req, res) => {
      if (req.url === '/ip') {
        if (await byIpLimit(req, res)) res.end('ok');
        return;
      }
      const auth = await guard(req, res);
      if (!auth || !(await bySubjectLimit(req, res, auth))) return;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ sub: auth.claims.sub }));
    });
    try {
      await scenario(await listen(server), tokens);
    } finally {
      server.close();
    }
  });

  it('Express 5', async () => {
    const { byIp, bySubject } = limiters();
    const app = express();
    app.get('/ip', rateLimitExpress({ limiter: byIp }), (_req, res) => {
      res.send('ok');
    });
    app.get(
      '/me',
      authorizeExpress({ jwt }),
      rateLimitExpress({ limiter: bySubject, key: 'subject' }),
      (req, res) => {
        res.json({ sub: (req as unknown as { auth: { claims: { sub: string } } }).auth.claims.sub });
      },
    );
    const server = createServer(app);
    try {
      await scenario(await listen(server), tokens);
    } finally {
      server.close();
    }
  });

  it('IPv6 clients behind a trusted proxy: one count per /56, ports dropped (Express, Fastify, Koa)', async () => {
    // The proxy (loopback) forwards the client's address; a client that
    // rotates through its /64 on every request is still one client, and
    // another /56 is another client.
    const rotating = ['2001:db8:0:12ab::1', '2001:db8:0:12ab::2', '2001:db8:0:12ab:ffff::3'];
    const check = async (base: string) => {
      const from = (address: string) => fetch(`${base}/ip`, { headers: { 'x-forwarded-for': address } });
      const statuses = [];
      for (const address of rotating) statuses.push((await from(address)).status);
      expect(statuses).toEqual([200, 200, 429]);
      expect((await from('2001:db8:0:1300::1')).status).toBe(200);
      expect((await from('2001:db8:0:12cd::7')).status).toBe(429); // the same /56 as the first three
      // A proxy that appends the client's port: each connection is still that client.
      const ported = [];
      for (const address of ['10.9.0.7:1111', '10.9.0.7:2222', '[::ffff:10.9.0.7]:3333']) {
        ported.push((await from(address)).status);
      }
      expect(ported).toEqual([200, 200, 429]);
    };
    const app = express();
    app.set('trust proxy', 'loopback');
    app.get('/ip', rateLimitExpress({ limiter: limiters().byIp }), (_req, res) => {
      res.send('ok');
    });
    const server = createServer(app);
    try {
      await check(await listen(server));
    } finally {
      server.close();
    }
    const fastify = Fastify({ trustProxy: '127.0.0.1' });
    fastify.get('/ip', { onRequest: rateLimitFastify({ limiter: limiters().byIp }) }, async () => 'ok');
    try {
      await check(await fastify.listen({ port: 0, host: '127.0.0.1' }));
    } finally {
      await fastify.close();
    }
    const koa = new Koa({ proxy: true });
    const koaLimit = rateLimitKoa({ limiter: limiters().byIp });
    koa.use((ctx) =>
      koaLimit(ctx, async () => {
        ctx.body = 'ok';
      }),
    );
    const koaServer = createServer(koa.callback());
    try {
      await check(await listen(koaServer));
    } finally {
      koaServer.close();
    }
  });

  it('refundWhen: a login route counts only failed attempts (node:http, Express, Fastify, Koa)', async () => {
    // 2 per minute; a successful login gives its unit back once answered.
    const refundWhen = ({ statusCode }: { statusCode: number }) => statusCode < 400;
    const check = async (base: string) => {
      const login = async (ok: boolean) => (await fetch(`${base}/login${ok ? '?ok=1' : ''}`)).status;
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push(await login(true));
      statuses.push(await login(false), await login(false), await login(false), await login(true));
      expect(statuses).toEqual([200, 200, 200, 200, 200, 401, 401, 429, 429]);
    };
    const answer = (url: string | undefined) => (url?.includes('ok=1') ? 200 : 401);

    const node = rateLimitNode({ limiter: limiters().byIp, refundWhen });
    const nodeServer = createServer(async (req, res) => {
      if (!(await node(req, res))) return;
      res.statusCode = answer(req.url);
      res.end();
    });
    try {
      await check(await listen(nodeServer));
    } finally {
      nodeServer.close();
    }

    const app = express();
    app.get('/login', rateLimitExpress({ limiter: limiters().byIp, refundWhen }), (req, res) => {
      res.sendStatus(answer(req.url));
    });
    const expressServer = createServer(app);
    try {
      await check(await listen(expressServer));
    } finally {
      expressServer.close();
    }

    const fastify = Fastify();
    fastify.get(
      '/login',
      { onRequest: rateLimitFastify({ limiter: limiters().byIp, refundWhen }) },
      async (req, reply) => reply.code(answer(req.url)).send(),
    );
    try {
      await check(await fastify.listen({ port: 0, host: '127.0.0.1' }));
    } finally {
      await fastify.close();
    }

    const koa = new Koa();
    const koaLimit = rateLimitKoa({ limiter: limiters().byIp, refundWhen });
    koa.use((ctx) =>
      koaLimit(ctx, async () => {
        ctx.status = answer(ctx.url);
      }),
    );
    const koaServer = createServer(koa.callback());
    try {
      await check(await listen(koaServer));
    } finally {
      koaServer.close();
    }
  });

  it('Fastify 5', async () => {
    const { byIp, bySubject } = limiters();
    const app = Fastify();
    app.get('/ip', { onRequest: rateLimitFastify({ limiter: byIp }) }, async () => 'ok');
    app.get(
      '/me',
      { preHandler: [authorizeFastify({ jwt }), rateLimitFastify({ limiter: bySubject, key: 'subject' })] },
      async (req) => ({ sub: (req as unknown as { auth: { claims: { sub: string } } }).auth.claims.sub }),
    );
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      await scenario(base, tokens);
    } finally {
      await app.close();
    }
  });

  it('Koa 3', async () => {
    const { byIp, bySubject } = limiters();
    const app = new Koa();
    const ip = rateLimitKoa({ limiter: byIp });
    const auth = authorizeKoa({ jwt });
    const user = rateLimitKoa({ limiter: bySubject, key: 'subject' });
    app.use(async (ctx, next) => {
      if (ctx.path === '/ip') {
        await ip(ctx, async () => {
          ctx.body = 'ok';
        });
        return;
      }
      await next();
    });
    app.use(auth);
    app.use(user);
    app.use((ctx) => {
      ctx.body = { sub: ctx.state.auth.claims.sub };
    });
    const server = createServer(app.callback());
    try {
      await scenario(await listen(server), tokens);
    } finally {
      server.close();
    }
  });
});
