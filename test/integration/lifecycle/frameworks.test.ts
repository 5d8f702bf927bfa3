import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import { describe, expect, it } from 'vitest';
import { ServiceLifecycle } from '../../../src/index.js';

/** A server of each framework whose `/slow` answers after `delayMs`. */
const frameworks: Record<string, (delayMs: number) => Promise<http.Server>> = {
  'node:http': async (delayMs) => {
    const server = http.createServer((req, res) => {
      setTimeout(() => res.end(`slow ${req.url}`), delayMs);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return server;
  },
  express: async (delayMs) => {
    const app = express();
    app.get('/slow', (req, res) => {
      setTimeout(() => res.send(`slow ${req.url}`), delayMs);
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((r) => server.once('listening', r));
    return server;
  },
  fastify: async (delayMs) => {
    const app = Fastify();
    app.get('/slow', async (req) => {
      await new Promise((r) => setTimeout(r, delayMs));
      return `slow ${req.url}`;
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    return app.server;
  },
  koa: async (delayMs) => {
    const app = new Koa();
    app.use(async (ctx) => {
      await new Promise((r) => setTimeout(r, delayMs));
      ctx.body = `slow ${ctx.url}`;
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((r) => server.once('listening', r));
    return server;
  },
};

function get(
  port: number,
  path: string,
  agent: http.Agent | false = false,
): Promise<{ status: number; body: string; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }),
        );
      })
      .on('error', reject);
  });
}

describe.each(Object.keys(frameworks))('ServiceLifecycle with %s', (name) => {
  it('serves the probes without routes, finishes requests in flight, then stops', async () => {
    const server = await frameworks[name]!(150);
    const port = (server.address() as AddressInfo).port;
    const lifecycle = new ServiceLifecycle({ servers: [server], deadlineMs: 5_000 });
    expect((await get(port, '/live')).status).toBe(200);
    const ready = await get(port, '/ready');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({ status: 'ok' });
    expect(JSON.parse((await get(port, '/health')).body)).toMatchObject({ status: 'ok', ready: true });

    const agent = new http.Agent({ keepAlive: true });
    const warm = await get(port, '/slow?warm', agent); // leaves an idle keep-alive socket
    expect(warm.body).toBe('slow /slow?warm');
    // In flight once the server has it (a fixed 40 ms wait can lose that race on a loaded machine).
    const arrived = new Promise<void>((resolve) => {
      server.on('request', (req: http.IncomingMessage) => {
        if (req.url === '/slow?1') resolve();
      });
    });
    const inFlight = get(port, '/slow?1', agent);
    await arrived;
    const report = await lifecycle.shutdown();
    const answer = await inFlight;
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('slow /slow?1');
    expect(answer.connection).toBe('close');
    expect(report).toMatchObject({ clean: true, exitCode: 0 });
    expect(server.listening).toBe(false);
    await expect(get(port, '/live')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    agent.destroy();
    await lifecycle.close();
  });
});
