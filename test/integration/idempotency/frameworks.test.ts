import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import { describe, expect, it } from 'vitest';
import { authorize as authorizeExpress } from '../../../src/auth/authorize-express.js';
import { authorize as authorizeFastify } from '../../../src/auth/authorize-fastify.js';
import { authorize as authorizeKoa } from '../../../src/auth/authorize-koa.js';
import { authorizeNode } from '../../../src/auth/authorize-node.js';
import type { AuthContext } from '../../../src/auth/authorizer.js';
import { idempotency as idempotencyExpress } from '../../../src/express.js';
import { idempotency as idempotencyFastify } from '../../../src/fastify.js';
import { Idempotency, idempotencyNode } from '../../../src/index.js';
import { idempotency as idempotencyKoa } from '../../../src/koa.js';
import { effect, runIdempotencyScenario, scenarioApp } from './scenario.js';

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const delayOf = (headers: Record<string, unknown>) => Number(headers['x-delay-ms'] ?? 0);

describe('idempotency middleware on real frameworks (memory store)', () => {
  it('Express 5', async () => {
    const app = scenarioApp();
    const keys = new Idempotency({ waitMs: 5_000 });
    const web = express();
    web.use(express.json());
    const pay = async (req: express.Request, res: express.Response) => {
      const r = await effect(app, req.body, delayOf(req.headers));
      const sub = (req as unknown as { auth?: AuthContext }).auth?.claims.sub;
      res.status(201).set({ location: `/payments/${r.op}`, 'set-cookie': 'a=b', 'x-trace': 't' });
      res.json({ ...r, sub });
    };
    web.post('/pay', idempotencyExpress(keys), pay);
    web.post('/required', idempotencyExpress(keys, { required: true }), pay);
    web.post('/flaky', idempotencyExpress(keys), async (req, res) => {
      app.flakyCalls++;
      if (app.flakyCalls === 1) return void res.status(503).json({ error: 'down' });
      await pay(req, res);
    });
    web.post('/me/pay', authorizeExpress({ jwt: app.jwt }), idempotencyExpress(keys), pay);
    web.get('/pay', (_req, res) => void res.json({ ok: true }));
    const server = createServer(web);
    try {
      await runIdempotencyScenario(await listen(server), app);
    } finally {
      server.close();
      await keys.close();
    }
  });

  it('Fastify 5', async () => {
    const app = scenarioApp();
    const keys = new Idempotency({ waitMs: 5_000 });
    const web = Fastify();
    const guard = idempotencyFastify(keys);
    const pay = async (
      req: { body: unknown; headers: Record<string, unknown> },
      reply: import('fastify').FastifyReply,
    ) => {
      const r = await effect(app, req.body, delayOf(req.headers));
      const sub = (req as unknown as { auth?: AuthContext }).auth?.claims.sub;
      reply.code(201).headers({ location: `/payments/${r.op}`, 'set-cookie': 'a=b', 'x-trace': 't' });
      return { ...r, sub };
    };
    web.post('/pay', { preHandler: guard }, pay);
    web.post('/required', { preHandler: idempotencyFastify(keys, { required: true }) }, pay);
    web.post('/flaky', { preHandler: guard }, async (req, reply) => {
      app.flakyCalls++;
      if (app.flakyCalls === 1) return reply.code(503).send({ error: 'down' });
      return pay(req, reply);
    });
    web.post('/me/pay', { preHandler: [authorizeFastify({ jwt: app.jwt }), guard] }, pay);
    web.get('/pay', async () => ({ ok: true }));
    const base = await web.listen({ port: 0, host: '127.0.0.1' });
    try {
      await runIdempotencyScenario(base, app);
    } finally {
      await web.close();
      await keys.close();
    }
  });

  it('Koa 3', async () => {
    const app = scenarioApp();
    const keys = new Idempotency({ waitMs: 5_000 });
    const web = new Koa();
    const guard = idempotencyKoa(keys);
    const required = idempotencyKoa(keys, { required: true });
    const auth = authorizeKoa({ jwt: app.jwt });
    // A small JSON body parser (what @koa/bodyparser does).
    web.use(async (ctx, next) => {
      if (ctx.method === 'POST') {
        const chunks: Buffer[] = [];
        for await (const c of ctx.req) chunks.push(c as Buffer);
        (ctx.request as { body?: unknown }).body =
          chunks.length > 0 ? JSON.parse(Buffer.concat(chunks).toString()) : undefined;
      }
      await next();
    });
    const pay = async (ctx: Koa.Context) => {
      const r = await effect(app, (ctx.request as { body?: unknown }).body, delayOf(ctx.headers));
      ctx.status = 201;
      ctx.set({ location: `/payments/${r.op}`, 'set-cookie': 'a=b', 'x-trace': 't' });
      ctx.body = { ...r, sub: (ctx.state.auth as AuthContext | undefined)?.claims.sub };
    };
    web.use(async (ctx) => {
      if (ctx.method === 'GET') {
        ctx.body = { ok: true };
        return;
      }
      if (ctx.path === '/pay') return guard(ctx as never, () => pay(ctx));
      if (ctx.path === '/required') return required(ctx as never, () => pay(ctx));
      if (ctx.path === '/me/pay') return auth(ctx as never, () => guard(ctx as never, () => pay(ctx)));
      if (ctx.path === '/flaky') {
        return guard(ctx as never, async () => {
          app.flakyCalls++;
          if (app.flakyCalls === 1) {
            ctx.status = 503;
            ctx.body = { error: 'down' };
            return;
          }
          await pay(ctx);
        });
      }
    });
    const server = createServer(web.callback());
    try {
      await runIdempotencyScenario(await listen(server), app);
    } finally {
      server.close();
      await keys.close();
    }
  });

  it('node:http', async () => {
    const app = scenarioApp();
    const keys = new Idempotency({ waitMs: 5_000 });
    const guard = idempotencyNode(keys);
    const required = idempotencyNode(keys, { required: true });
    const auth = authorizeNode({ jwt: app.jwt });
    const readJson = async (req: IncomingMessage) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      return chunks.length > 0 ? JSON.parse(Buffer.concat(chunks).toString()) : undefined;
    };
    const pay = async (req: IncomingMessage, res: ServerResponse, body: unknown, who?: AuthContext) => {
      const r = await effect(app, body, delayOf(req.headers));
      res.writeHead(201, {
        'content-type': 'application/json',
        location: `/payments/${r.op}`,
        'set-cookie': 'a=b',
        'x-trace': 't',
      });
      res.end(JSON.stringify({ ...r, sub: who?.claims.sub }));
    };
    const server = createServer(async (req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method === 'GET') return void res.end('{"ok":true}');
      const body = await readJson(req);
      if (path === '/pay' && (await guard(req, res, { body }))) return pay(req, res, body);
      if (path === '/required' && (await required(req, res, { body }))) return pay(req, res, body);
      if (path === '/me/pay') {
        const who = await auth(req, res);
        if (who && (await guard(req, res, { body, auth: who }))) return pay(req, res, body, who);
      }
      if (path === '/flaky' && (await guard(req, res, { body }))) {
        app.flakyCalls++;
        if (app.flakyCalls === 1) return void res.writeHead(503).end('{"error":"down"}');
        return pay(req, res, body);
      }
    });
    try {
      await runIdempotencyScenario(await listen(server), app);
    } finally {
      server.close();
      await keys.close();
    }
  });

  it('a response sent encoded (Content-Encoding) is not kept: repeats get 409, never a second run', async () => {
    const keys = new Idempotency();
    const guard = idempotencyNode(keys);
    let runs = 0;
    const server = createServer(async (req, res) => {
      if (!(await guard(req, res))) return;
      runs++;
      res.writeHead(201, { 'content-type': 'text/plain', 'content-encoding': 'gzip' });
      res.end(gzipSync('paid'));
    });
    try {
      const base = await listen(server);
      const send = () => fetch(`${base}/pay`, { method: 'POST', headers: { 'idempotency-key': 'enc' } });
      expect((await send()).status).toBe(201);
      const again = await send();
      expect(again.status).toBe(409);
      expect(await again.json()).toMatchObject({
        title: 'The response for this Idempotency-Key is not kept',
      });
      expect(runs).toBe(1);
    } finally {
      server.close();
      await keys.close();
    }
  });
});
