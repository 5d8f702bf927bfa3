/**
 * A replay is the response as it was sent, header line for header line, on
 * each framework, through a real Redis store.
 */

import { createHash } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisIdempotencyStore } from '../../../src/adapters/redis/idempotency.js';
import { idempotency as idempotencyExpress } from '../../../src/express.js';
import { idempotency as idempotencyFastify } from '../../../src/fastify.js';
import { fingerprintRequest } from '../../../src/idempotency/fingerprint.js';
import { Idempotency, idempotencyNode } from '../../../src/index.js';
import { idempotency as idempotencyKoa } from '../../../src/koa.js';
import { uniquePrefix } from '../../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';

/** Kept and replayed on every route here. */
const STORED = ['content-type', 'cache-control', 'link', 'etag'];
const LINKS = ['</a>; rel="a"', '</b>; rel="b"'];
const QUEUED = 'Queued For Later';
/**
 * Lines that describe the connection, the framing (a replay may send a body
 * with a length where the first was chunked) or the moment, not the response.
 */
const TRANSIENT = new Set([
  'date',
  'connection',
  'keep-alive',
  'content-length',
  'transfer-encoding',
  'idempotency-replayed',
]);

interface Answer {
  status: number;
  message: string;
  /** Header lines as received, grouped by name (names sorted, order kept within a name). */
  lines: Array<[string, string]>;
  replayed: boolean;
  body: string;
}

/** A keyed POST with a raw client: every header line as it came. */
function post(base: string, path: string, key: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method: 'POST', headers: { 'idempotency-key': key } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const lines: Array<[string, string]> = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          const name = res.rawHeaders[i]!.toLowerCase();
          if (!TRANSIENT.has(name)) lines.push([name, res.rawHeaders[i + 1]!]);
        }
        lines.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        resolve({
          status: res.statusCode ?? 0,
          message: res.statusMessage ?? '',
          lines,
          replayed: res.headers['idempotency-replayed'] === 'true',
          body: Buffer.concat(chunks).toString(),
        });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A framework's app: its base URL, how many times each route ran, how to stop it. */
interface App {
  base: string;
  runs: Map<string, number>;
  close(): Promise<unknown>;
}

const counter = () => {
  const runs = new Map<string, number>();
  return { runs, count: (path: string) => runs.set(path, (runs.get(path) ?? 0) + 1) };
};

const FRAMEWORKS: Record<string, { paths: string[]; start(keys: Idempotency): Promise<App> }> = {
  'node:http': {
    paths: ['/links', '/links-head-only', '/links-merged', '/queued', '/raw'],
    async start(keys) {
      const guard = idempotencyNode(keys, { storedHeaders: STORED });
      const { runs, count } = counter();
      const server = createServer(async (req, res) => {
        for await (const _ of req);
        if (!(await guard(req, res))) return;
        const path = req.url ?? '/';
        count(path);
        if (path === '/links') {
          // setHeader with an array, then writeHead with another.
          res.setHeader('cache-control', ['no-store', 'private']);
          res.writeHead(201, { 'content-type': 'text/plain', link: LINKS });
          res.end('ok');
        } else if (path === '/links-head-only') {
          // Only writeHead, its flat list repeating names.
          res.writeHead(201, [
            'link',
            LINKS[0]!,
            'cache-control',
            'no-store',
            'link',
            LINKS[1]!,
            'cache-control',
            'private',
          ]);
          res.end('ok');
        } else if (path === '/links-merged') {
          // Both: how node merges them depends on its version; the replay is what it sent.
          res.setHeader('cache-control', 'no-cache');
          res.writeHead(201, ['link', LINKS[0]!, 'cache-control', 'no-store', 'link', LINKS[1]!]);
          res.end('ok');
        } else if (path === '/queued') {
          res.writeHead(202, QUEUED, { 'content-type': 'text/plain' }).end('queued');
        } else if (path === '/raw') {
          res.writeHead(200).end('rawbody');
        }
      });
      const base = await listen(server);
      return { base, runs, close: () => new Promise((r) => server.close(r)) };
    },
  },
  'Express 5': {
    paths: ['/links', '/queued', '/raw', '/raw-empty'],
    async start(keys) {
      const web = express();
      const { runs, count } = counter();
      web.post('/links', idempotencyExpress(keys, { storedHeaders: STORED }), (_req, res) => {
        count('/links');
        res.set('link', LINKS);
        res.append('cache-control', 'no-store');
        res.append('cache-control', 'private');
        res.status(201).type('text/plain').send('ok');
      });
      web.post('/queued', idempotencyExpress(keys, { storedHeaders: STORED }), (_req, res) => {
        count('/queued');
        res.statusMessage = QUEUED;
        res.status(202).type('text/plain').send('queued');
      });
      web.post('/raw', idempotencyExpress(keys, { storedHeaders: STORED }), (_req, res) => {
        count('/raw');
        res.status(200).end('rawbody');
      });
      web.post('/raw-empty', idempotencyExpress(keys, { storedHeaders: STORED }), (_req, res) => {
        count('/raw-empty');
        res.status(200).end();
      });
      const server = createServer(web);
      const base = await listen(server);
      return { base, runs, close: () => new Promise((r) => server.close(r)) };
    },
  },
  'Fastify 5': {
    paths: ['/links', '/queued', '/raw', '/raw-empty'],
    async start(keys) {
      const web = Fastify();
      const { runs, count } = counter();
      const guard = idempotencyFastify(keys, { storedHeaders: STORED });
      web.post('/links', { preHandler: guard }, async (_req, reply) => {
        count('/links');
        return reply
          .code(201)
          .header('link', LINKS)
          .header('cache-control', ['no-store', 'private'])
          .type('text/plain')
          .send('ok');
      });
      web.post('/queued', { preHandler: guard }, async (_req, reply) => {
        count('/queued');
        reply.raw.statusMessage = QUEUED;
        return reply.code(202).type('text/plain').send('queued');
      });
      web.post('/raw', { preHandler: guard }, async (_req, reply) => {
        count('/raw');
        reply.hijack();
        reply.raw.writeHead(200).end('rawbody');
      });
      web.post('/raw-empty', { preHandler: guard }, async (_req, reply) => {
        count('/raw-empty');
        reply.hijack();
        reply.raw.writeHead(200).end();
      });
      const base = await web.listen({ port: 0, host: '127.0.0.1' });
      return { base, runs, close: () => web.close() };
    },
  },
  'Koa 3': {
    paths: ['/links', '/queued', '/raw', '/raw-empty'],
    async start(keys) {
      const web = new Koa();
      const { runs, count } = counter();
      web.use(idempotencyKoa(keys, { storedHeaders: STORED }));
      web.use(async (ctx) => {
        count(ctx.path);
        if (ctx.path === '/queued') {
          ctx.status = 202;
          ctx.message = QUEUED;
          ctx.type = 'text/plain';
          ctx.body = 'queued';
          return;
        }
        if (ctx.path === '/raw' || ctx.path === '/raw-empty') {
          ctx.respond = false;
          ctx.res.writeHead(200).end(ctx.path === '/raw' ? 'rawbody' : undefined);
          return;
        }
        ctx.status = 201;
        ctx.set('link', LINKS);
        ctx.append('cache-control', 'no-store');
        ctx.append('cache-control', 'private');
        ctx.type = 'text/plain';
        ctx.body = 'ok';
      });
      const server = createServer(web.callback());
      const base = await listen(server);
      return { base, runs, close: () => new Promise((r) => server.close(r)) };
    },
  },
};

/** What the first response of a route sends of the repeated headers (not told for a route whose merge depends on node's version). */
const SENT: Record<string, Record<string, string[]>> = {
  '/links': { link: LINKS, 'cache-control': ['no-store', 'private'] },
  '/links-head-only': { link: LINKS, 'cache-control': ['no-store', 'private'] },
};

describe('a replay is the response as sent (Redis store)', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  /** Two keyed POSTs to `path` on a fresh app: the first answer and the replay. */
  async function firstAndReplay(name: string, path: string): Promise<[Answer, Answer]> {
    const adapter = redisIdempotencyStore({ connection: redis.url, prefix: uniquePrefix('idem-replay') });
    const keys = new Idempotency({ adapter, waitMs: 10_000 });
    const app = await FRAMEWORKS[name]!.start(keys);
    try {
      const first = await post(app.base, path, `k${path}`);
      const again = await post(app.base, path, `k${path}`);
      expect([first.replayed, again.replayed]).toEqual([false, true]);
      expect(app.runs.get(path)).toBe(1);
      return [first, again];
    } finally {
      await app.close();
      await keys.close();
      await adapter.close();
    }
  }

  describe.each(Object.keys(FRAMEWORKS))('%s', (name) => {
    it.each(FRAMEWORKS[name]!.paths)(
      '%s: the status line and every header line as first sent',
      async (path) => {
        const [first, again] = await firstAndReplay(name, path);
        if (path === '/queued')
          expect([first.status, first.message, first.body]).toEqual([202, QUEUED, 'queued']);
        if (path === '/raw' || path === '/raw-empty') {
          // No Content-Type went out: none comes back (a framework must not type the bytes).
          expect(first.body).toBe(path === '/raw' ? 'rawbody' : '');
          expect(again.lines.filter(([n]) => n === 'content-type')).toEqual([]);
        }
        for (const [header, values] of Object.entries(SENT[path] ?? {})) {
          expect(first.lines.filter(([n]) => n === header).map(([, v]) => v)).toEqual(values);
        }
        expect({ ...again, replayed: true }).toEqual({ ...first, replayed: true });
      },
    );
  });
});

describe('a record kept before status messages and repeated lines were kept (Redis store)', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('replays as it did: the standard status message, one line per header kept', async () => {
    const adapter = redisIdempotencyStore({ connection: redis.url, prefix: uniquePrefix('idem-old') });
    // What node:http's guard keeps for an anonymous POST /old with key k-old, as written before.
    const key = `http:${createHash('sha256')
      .update(JSON.stringify(['', 'POST', '/old', 'k-old']))
      .digest('base64url')}`;
    const fingerprint = fingerprintRequest('POST', '/old', undefined);
    const response = JSON.stringify({
      t: 'h',
      s: 202,
      h: [
        ['content-type', 'text/plain'],
        ['link', LINKS[1]],
      ],
      b: Buffer.from('queued').toString('base64'),
    });
    expect((await adapter.claim({ key, owner: 'old', fingerprint, leaseMs: 5_000 })).status).toBe('claimed');
    expect(await adapter.complete({ key, owner: 'old', fingerprint, response, ttlMs: 60_000 })).toBe(true);
    const keys = new Idempotency({ adapter });
    const guard = idempotencyNode(keys, { storedHeaders: STORED });
    let runs = 0;
    const server = createServer(async (req, res) => {
      for await (const _ of req);
      if (!(await guard(req, res))) return;
      runs++;
      res.end('ran');
    });
    try {
      const again = await post(await listen(server), '/old', 'k-old');
      expect(again).toMatchObject({ status: 202, message: 'Accepted', replayed: true, body: 'queued' });
      expect(again.lines).toEqual([
        ['content-type', 'text/plain'],
        ['link', LINKS[1]],
      ]);
      expect(runs).toBe(0);
    } finally {
      server.close();
      await keys.close();
      await adapter.close();
    }
  });
});

describe('a response whose kept headers cannot all be kept', () => {
  it.each([
    ['more lines than a record keeps (64)', Array.from({ length: 65 }, (_, i) => `</${i}>; rel="item"`)],
    ['a line longer than a record keeps (8 KiB)', [`</${'a'.repeat(9_000)}>; rel="long"`]],
  ])(
    '%s is not kept: repeats get 409, never a replay missing a line, never a second run',
    async (_, links) => {
      const keys = new Idempotency();
      const guard = idempotencyNode(keys, { storedHeaders: STORED });
      let runs = 0;
      const server = createServer(async (req, res) => {
        for await (const _ of req);
        if (!(await guard(req, res))) return;
        runs++;
        res.writeHead(201, { 'content-type': 'text/plain', link: links }).end('ok');
      });
      try {
        const base = await listen(server);
        expect((await post(base, '/pay', 'many')).status).toBe(201);
        const again = await post(base, '/pay', 'many');
        expect(again.status).toBe(409);
        expect(JSON.parse(again.body)).toMatchObject({
          title: 'The response for this Idempotency-Key is not kept',
        });
        expect(runs).toBe(1);
      } finally {
        server.close();
        await keys.close();
      }
    },
  );
});
