import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { authorize as authorizeExpress } from '../../../src/auth/authorize-express.js';
import { authorize as authorizeFastify } from '../../../src/auth/authorize-fastify.js';
import { authorize as authorizeKoa } from '../../../src/auth/authorize-koa.js';
import { authorizeNode } from '../../../src/auth/authorize-node.js';
import type { AuthContext } from '../../../src/auth/authorizer.js';
import { deleteKeysWithPrefix, uniquePrefix } from '../../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';
import { type AuthFixture, authFixture, runAuthScenario } from './scenario.js';

const cookie = (sid: string) => `sid=${sid}; Path=/; HttpOnly; SameSite=Lax`;

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('authorize on real frameworks, sessions and denylist in real Redis', () => {
  let redis: RedisServer;
  const prefixes: string[] = [];
  const fixtures: AuthFixture[] = [];
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    for (const f of fixtures) await f.close();
    const admin = redis.client();
    for (const p of prefixes) await deleteKeysWithPrefix(admin, p);
    await redis.stop();
  });
  const fixture = () => {
    const prefix = uniquePrefix('authz');
    prefixes.push(prefix);
    const f = authFixture(redis, prefix);
    fixtures.push(f);
    return f;
  };

  it('Express 5', async () => {
    const f = fixture();
    const app = express();
    app.post('/login', async (req, res) => {
      const { token, sid } = await f.login(String(req.query.user), String(req.query.role));
      res.set('set-cookie', cookie(sid)).json({ token, sid });
    });
    app.get('/me', authorizeExpress(f.auth), (req, res) => {
      const auth = (req as unknown as { auth: AuthContext }).auth;
      res.json({ sub: auth.claims.sub, source: auth.source });
    });
    app.get('/admin', authorizeExpress(f.admin), (_req, res) => {
      res.json({ ok: true });
    });
    app.post('/logout-everywhere', authorizeExpress(f.auth), async (req, res) => {
      res.json({ destroyed: await f.logoutEverywhere((req as unknown as { auth: AuthContext }).auth) });
    });
    const server = createServer(app);
    try {
      await runAuthScenario(await listen(server), f);
    } finally {
      server.close();
    }
  });

  it('Fastify 5', async () => {
    const f = fixture();
    const app = Fastify();
    app.post('/login', async (req, reply) => {
      const q = req.query as { user: string; role: string };
      const { token, sid } = await f.login(q.user, q.role);
      reply.header('set-cookie', cookie(sid));
      return { token, sid };
    });
    app.get('/me', { preHandler: authorizeFastify(f.auth) }, async (req) => {
      const auth = (req as unknown as { auth: AuthContext }).auth;
      return { sub: auth.claims.sub, source: auth.source };
    });
    app.get('/admin', { preHandler: authorizeFastify(f.admin) }, async () => ({ ok: true }));
    app.post('/logout-everywhere', { preHandler: authorizeFastify(f.auth) }, async (req) => ({
      destroyed: await f.logoutEverywhere((req as unknown as { auth: AuthContext }).auth),
    }));
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      await runAuthScenario(base, f);
    } finally {
      await app.close();
    }
  });

  it('Koa 3', async () => {
    const f = fixture();
    const app = new Koa();
    const guard = authorizeKoa(f.auth);
    const adminGuard = authorizeKoa(f.admin);
    app.use(async (ctx, next) => {
      if (ctx.method === 'POST' && ctx.path === '/login') {
        const { token, sid } = await f.login(String(ctx.query.user), String(ctx.query.role));
        ctx.set('set-cookie', cookie(sid));
        ctx.body = { token, sid };
        return;
      }
      await next();
    });
    app.use(async (ctx, next) => {
      if (ctx.path === '/me') {
        await guard(ctx as never, async () => {
          const auth = ctx.state.auth as AuthContext;
          ctx.body = { sub: auth.claims.sub, source: auth.source };
        });
      } else if (ctx.path === '/admin') {
        await adminGuard(ctx as never, async () => {
          ctx.body = { ok: true };
        });
      } else if (ctx.path === '/logout-everywhere' && ctx.method === 'POST') {
        await guard(ctx as never, async () => {
          ctx.body = { destroyed: await f.logoutEverywhere(ctx.state.auth as AuthContext) };
        });
      } else {
        await next();
      }
    });
    const server = createServer(app.callback());
    try {
      await runAuthScenario(await listen(server), f);
    } finally {
      server.close();
    }
  });

  it('node:http', async () => {
    const f = fixture();
    const guard = authorizeNode(f.auth);
    const adminGuard = authorizeNode(f.admin);
    const server = createServer(async (req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const json = (body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(200, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
      };
      try {
        if (url.pathname === '/login') {
          const { token, sid } = await f.login(url.searchParams.get('user')!, url.searchParams.get('role')!);
          return json({ token, sid }, { 'set-cookie': cookie(sid) });
        }
        if (url.pathname === '/admin') {
          if (await adminGuard(req, res)) json({ ok: true });
          return;
        }
        const auth = await guard(req, res);
        if (!auth) return;
        if (url.pathname === '/me') return json({ sub: auth.claims.sub, source: auth.source });
        return json({ destroyed: await f.logoutEverywhere(auth) });
      } catch {
        res.writeHead(500).end();
      }
    });
    try {
      await runAuthScenario(await listen(server), f);
    } finally {
      server.close();
    }
  });
});
