/**
 * ServiceClient's own axios instance and proxies from the environment:
 * with no proxy variable for a protocol its requests go direct (checked once
 * per protocol), otherwise axios decides per request (HTTP_PROXY, NO_PROXY).
 * Real node:http servers on loopback: an upstream, and a forward proxy that
 * answers every request itself (so an answer names the path it took).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ServiceClient } from '../../../src/client/service-client.js';

const PROXY_VARS = ['http_proxy', 'https_proxy', 'all_proxy', 'no_proxy'].flatMap((k) => [
  k,
  k.toUpperCase(),
]);
let saved: Record<string, string | undefined> = {};
let upstream: Server;
let proxy: Server;
let upstreamPort: number;
let proxyUrl: string;
/** Request targets the proxy received (absolute-form URLs). */
let proxied: string[] = [];
/** CONNECT targets the proxy received. */
let connects: string[] = [];

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

beforeAll(async () => {
  upstream = createServer((req, res) => {
    if (req.url === '/to-https') {
      res.writeHead(302, { location: `https://127.0.0.1:${upstreamPort + 1}/there` }).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ via: 'direct', url: req.url, deadline: req.headers['x-request-deadline-ms'] }));
  });
  proxy = createServer((req, res) => {
    proxied.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ via: 'proxy', url: req.url, deadline: req.headers['x-request-deadline-ms'] }));
  });
  proxy.on('connect', (req, socket) => {
    connects.push(req.url ?? '');
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  });
  upstreamPort = await listen(upstream);
  proxyUrl = `http://127.0.0.1:${await listen(proxy)}`;
});

afterAll(async () => {
  await new Promise((r) => upstream.close(r));
  await new Promise((r) => proxy.close(r));
});

beforeEach(() => {
  proxied = [];
  connects = [];
  saved = {};
  for (const k of PROXY_VARS) {
    saved[k] = process.env[k];
    delete process.env[k];
  }
});

afterEach(() => {
  for (const k of PROXY_VARS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

type Answer = { via: string; url: string; deadline?: string };

describe('ServiceClient and proxies from the environment', () => {
  it('sends through HTTP_PROXY, on every call', async () => {
    process.env.HTTP_PROXY = proxyUrl;
    const client = new ServiceClient(
      { baseUrl: `http://127.0.0.1:${upstreamPort}` },
      { attemptTimeoutMs: 700 },
    );
    for (let i = 0; i < 3; i++) {
      expect(await client.get<Answer>(`/item/${i}`)).toMatchObject({
        via: 'proxy',
        url: `http://127.0.0.1:${upstreamPort}/item/${i}`,
      });
    }
    expect(proxied).toHaveLength(3);
    // The deadline header travels through the proxy too.
    expect((await client.get<Answer>('/item')).deadline).toBe('700');
    await client.close();
  });

  it('goes direct to an upstream NO_PROXY names', async () => {
    process.env.HTTP_PROXY = proxyUrl;
    process.env.NO_PROXY = 'example.test,127.0.0.1';
    const client = new ServiceClient({ baseUrl: `http://127.0.0.1:${upstreamPort}` });
    expect(await client.get<Answer>('/item')).toMatchObject({ via: 'direct', url: '/item' });
    expect(await client.get<Answer>('/item')).toMatchObject({ via: 'direct', url: '/item' });
    expect(proxied).toEqual([]);
    // Direct, the full-attempt deadline header is still sent; a call cut short sends its own.
    expect((await client.get<Answer>('/item')).deadline).toMatch(/^\d+$/);
    expect(Number((await client.get<Answer>('/item', { deadlineMs: 300 })).deadline)).toBeLessThanOrEqual(
      300,
    );
    await client.close();
  });

  it('lets the proxy of another protocol apply after a redirect', async () => {
    // No proxy for http: the first hop goes direct. HTTPS_PROXY is set, so
    // the hop to https must reach the proxy (as a CONNECT tunnel).
    process.env.HTTPS_PROXY = proxyUrl;
    const client = new ServiceClient(
      { baseUrl: `http://127.0.0.1:${upstreamPort}` },
      { retry: { maxAttempts: 1 } },
    );
    await expect(client.get('/to-https')).rejects.toThrow();
    expect(connects).toEqual([`127.0.0.1:${upstreamPort + 1}`]);
    expect(proxied).toEqual([]);
    await client.close();
  });

  it('lets a proxy in the call config win over the environment', async () => {
    const client = new ServiceClient({ baseUrl: `http://127.0.0.1:${upstreamPort}` });
    expect(await client.get<Answer>('/item')).toMatchObject({ via: 'direct', url: '/item' });
    const port = Number(new URL(proxyUrl).port);
    expect(
      await client.get<Answer>('/item', { proxy: { protocol: 'http', host: '127.0.0.1', port } }),
    ).toMatchObject({ via: 'proxy', url: `http://127.0.0.1:${upstreamPort}/item` });
    await client.close();
  });

  it('checks the environment once per protocol (documented)', async () => {
    const client = new ServiceClient({ baseUrl: `http://127.0.0.1:${upstreamPort}` });
    expect(await client.get<Answer>('/item')).toMatchObject({ via: 'direct', url: '/item' });
    process.env.HTTP_PROXY = proxyUrl;
    expect(await client.get<Answer>('/item')).toMatchObject({ via: 'direct', url: '/item' });
    // A new client reads it again.
    const fresh = new ServiceClient({ baseUrl: `http://127.0.0.1:${upstreamPort}` });
    expect((await fresh.get<Answer>('/item')).via).toBe('proxy');
    await client.close();
    await fresh.close();
  });
});
