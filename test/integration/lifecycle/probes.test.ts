/**
 * The probe exports on a real server of each framework: node:http
 * (`probeHandler`), Express and Koa (`probeMiddleware`), Fastify
 * (`probePlugin`). Each serves /live, /ready (200 vs 503 before markReady,
 * while stopping, when a check fails) and /health (detailed JSON, no
 * secrets), answers HEAD without a body and another method with 405, passes
 * every other path to the application, and bounds a check that hangs.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { probeMiddleware as expressProbes } from '../../../src/express.js';
import { probePlugin } from '../../../src/fastify.js';
import { type HealthReport, probeHandler, ServiceLifecycle } from '../../../src/index.js';
import { probeMiddleware as koaProbes } from '../../../src/koa.js';

interface Running {
  port: number;
  close(): Promise<void>;
}

/** A server of each framework with the probes mounted and `/other` answered by the application. */
const frameworks: Record<string, (lifecycle: ServiceLifecycle) => Promise<Running>> = {
  'node:http': async (lifecycle) => {
    const probes = probeHandler(lifecycle);
    const server = http.createServer((req, res) => {
      if (probes(req, res)) return;
      res.end('app');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return nodeServer(server);
  },
  express: async (lifecycle) => {
    const app = express();
    app.use(expressProbes(lifecycle));
    app.use((_req, res) => {
      res.send('app');
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((r) => server.once('listening', r));
    return nodeServer(server);
  },
  fastify: async (lifecycle) => {
    const app = Fastify();
    await app.register(probePlugin(lifecycle));
    app.all('/other', async () => 'app');
    await app.listen({ port: 0, host: '127.0.0.1' });
    return { port: (app.server.address() as AddressInfo).port, close: () => app.close() };
  },
  koa: async (lifecycle) => {
    const app = new Koa();
    app.use(koaProbes(lifecycle));
    app.use((ctx) => {
      ctx.body = 'app';
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((r) => server.once('listening', r));
    return nodeServer(server);
  },
};

function nodeServer(server: http.Server): Running {
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

interface Answer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

function request(port: number, path: string, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(name: string, lifecycle: ServiceLifecycle): Promise<number> {
  const running = await frameworks[name]!(lifecycle);
  cleanups.push(() => running.close());
  cleanups.push(() => lifecycle.close());
  return running.port;
}

describe.each(Object.keys(frameworks))('probes on %s', (name) => {
  it('/live, /ready and /health answer GET and HEAD; another method is 405; other paths reach the app', async () => {
    const lifecycle = new ServiceLifecycle({ probes: false });
    lifecycle.addCheck('db', () => ({ pool: 'warm' }));
    const port = await start(name, lifecycle);

    const live = await request(port, '/live');
    expect(live.status).toBe(200);
    expect(JSON.parse(live.body)).toEqual({ status: 'live' });
    expect(live.headers['content-type']).toMatch(/^application\/json/);
    expect(live.headers['cache-control']).toBe('no-store');

    const ready = await request(port, '/ready?probe=k8s');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({ status: 'ok' });

    const health = await request(port, '/health');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({
      status: 'ok',
      live: true,
      ready: true,
      checks: [{ name: 'db', ok: true, critical: true, details: { pool: 'warm' } }],
    });

    const head = await request(port, '/ready', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers['content-type']).toMatch(/^application\/json/);

    for (const method of ['POST', 'DELETE']) {
      const refused = await request(port, '/health', method);
      expect(refused.status).toBe(405);
      expect(refused.headers.allow).toBe('GET, HEAD');
    }

    expect((await request(port, '/other')).body).toBe('app');
  });

  it('/ready is 503 before markReady(), after markNotReady() and while stopping; /live stays 200', async () => {
    const lifecycle = new ServiceLifecycle({ probes: false, startReady: false });
    let release!: () => void;
    const closing = new Promise<void>((r) => {
      release = r;
    });
    lifecycle.manage({ close: () => closing }, { name: 'slow pool' });
    const port = await start(name, lifecycle);

    expect(await request(port, '/ready')).toMatchObject({ status: 503 });
    expect(JSON.parse((await request(port, '/ready')).body)).toEqual({ status: 'unready' });
    lifecycle.markReady();
    expect((await request(port, '/ready')).status).toBe(200);
    lifecycle.markNotReady();
    expect((await request(port, '/ready')).status).toBe(503);
    lifecycle.markReady();

    const stopped = lifecycle.shutdown();
    const stopping = await request(port, '/ready');
    expect(stopping.status).toBe(503);
    expect(JSON.parse(stopping.body)).toEqual({ status: 'stopping' });
    expect((await request(port, '/health')).status).toBe(503);
    expect((await request(port, '/live')).status).toBe(200);
    release();
    expect((await stopped).clean).toBe(true);
  });

  it('a check that throws or hangs fails alone, within its timeout, typed; /health shows no secret', async () => {
    const lifecycle = new ServiceLifecycle({ probes: false });
    lifecycle.addCheck('config', () => ({
      url: 'redis://app:hunter2@127.0.0.5:6379/0',
      password: 'hunter2',
      nested: { apiKey: 'hunter2', region: 'eu' },
    }));
    lifecycle.addCheck('postgres', () => {
      throw new Error('connect ECONNREFUSED postgres://app:hunter2@127.0.0.9:5432/orders');
    });
    lifecycle.addCheck('search', () => new Promise(() => {}), { timeoutMs: 100 });
    lifecycle.addCheck('optional', () => false, { critical: false });
    const port = await start(name, lifecycle);

    // Answered although a check never settles: its timeout bounds the probe.
    const ready = await request(port, '/ready');
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body)).toEqual({ status: 'unready' });

    const health = await request(port, '/health');
    expect(health.status).toBe(503);
    expect(health.body).not.toContain('hunter2');
    const report = JSON.parse(health.body) as HealthReport;
    const byName = Object.fromEntries(report.checks.map((c) => [c.name, c]));
    expect(byName.config).toMatchObject({
      ok: true,
      details: {
        url: 'redis://***@127.0.0.5:6379/0',
        password: '[redacted]',
        nested: { apiKey: '[redacted]', region: 'eu' },
      },
    });
    expect(byName.postgres).toMatchObject({ ok: false, critical: true });
    expect(byName.postgres!.error).toContain('postgres://***@127.0.0.9:5432/orders');
    expect(byName.search).toMatchObject({ ok: false, code: 'ERR_TIMEOUT' });
    expect(byName.search!.error).toMatch(/^TimeoutError: check "search" timed out after 100 ms/);
    expect(byName.optional).toMatchObject({ ok: false, critical: false, error: 'check returned false' });
  });
});

describe('probe exports', () => {
  it('serve the paths they are given and refuse bad arguments with typed errors', async () => {
    const lifecycle = new ServiceLifecycle({ probes: false });
    cleanups.push(() => lifecycle.close());
    expect(() => probeHandler({} as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
    );
    expect(() => expressProbes(lifecycle, { ready: '/r' } as never)).toThrow(/did you mean "readyPath"/);
    expect(() => koaProbes(lifecycle, { livePath: 'healthz' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', option: 'livePath' }),
    );
    expect(() => probePlugin(lifecycle, 5 as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }),
    );

    const probes = probeHandler(lifecycle, { livePath: '/healthz', readyPath: '/readyz', healthPath: false });
    const server = http.createServer((req, res) => {
      if (!probes(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => nodeServer(server).close());
    const port = (server.address() as AddressInfo).port;
    expect((await request(port, '/healthz')).status).toBe(200);
    expect((await request(port, '/readyz')).status).toBe(200);
    expect((await request(port, '/live')).status).toBe(404);
    expect((await request(port, '/health')).status).toBe(404);
  });

  it('concurrent probes share one run of the checks', async () => {
    const lifecycle = new ServiceLifecycle({ probes: false });
    cleanups.push(() => lifecycle.close());
    let runs = 0;
    lifecycle.addCheck('db', async () => {
      runs++;
      await new Promise((r) => setTimeout(r, 50));
    });
    const reports = await Promise.all([lifecycle.health(), lifecycle.health(), lifecycle.health()]);
    expect(reports.every((r) => r.ready)).toBe(true);
    expect(runs).toBe(1);
    await lifecycle.health();
    expect(runs).toBe(2);
  });
});
