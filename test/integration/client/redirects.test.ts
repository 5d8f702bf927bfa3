/**
 * ServiceClient follows redirects itself (its own axios instance sends on
 * Node's http directly): against real node:http servers on loopback, the
 * method and body rules, credentials dropped across origins, limits,
 * targets it refuses, and the attempt timeout covering the whole chain.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import axios from 'axios';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ServiceClient } from '../../../src/client/service-client.js';
import { HttpStatusError, InvalidOptionsError, isScaleoutError } from '../../../src/errors.js';

interface Seen {
  server: 'a' | 'b';
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let seen: Seen[] = [];
/** TCP connections accepted by each server since the last reset. */
const connections = { a: 0, b: 0 };
let a: Server;
let b: Server;
let aUrl: string;
let bUrl: string;

function start(name: 'a' | 'b'): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '/';
      seen.push({
        server: name,
        method: req.method ?? '',
        url,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      const redirect = /\/r(\d{3})\/([^/]*)$/.exec(url);
      if (redirect !== null) {
        // /r302/<target>: answers that status with Location <target> (decoded).
        res.writeHead(Number(redirect[1]), { location: decodeURIComponent(redirect[2]!) }).end();
        return;
      }
      if (url === '/loop') return void res.writeHead(302, { location: '/loop' }).end();
      if (url === '/hang') return; // never answers
      if (url === '/no-location') return void res.writeHead(302).end();
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ server: name, path: url }));
    });
  });
  server.on('connection', () => connections[name]++);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const r = (status: number, target: string) => `/r${status}/${encodeURIComponent(target)}`;

beforeAll(async () => {
  a = await start('a');
  b = await start('b');
  aUrl = `http://127.0.0.1:${(a.address() as AddressInfo).port}`;
  bUrl = `http://127.0.0.1:${(b.address() as AddressInfo).port}`;
});
afterAll(async () => {
  a.closeAllConnections();
  b.closeAllConnections();
  await new Promise((res) => a.close(res));
  await new Promise((res) => b.close(res));
});
beforeEach(() => {
  seen = [];
});

const client = (options: ConstructorParameters<typeof ServiceClient>[1] = {}) =>
  new ServiceClient({ baseUrl: aUrl }, { retry: { maxAttempts: 1 }, ...options });

describe('ServiceClient follows redirects itself', () => {
  it('GET through 301, 302, 307 and 308 (relative and absolute Location) ends at the target', async () => {
    const c = client();
    for (const status of [301, 302, 307, 308]) {
      seen = [];
      expect(await c.get(r(status, '/final?x=1'))).toEqual({ server: 'a', path: '/final?x=1' });
      expect(seen.map((s) => s.url)).toEqual([r(status, '/final?x=1'), '/final?x=1']);
    }
    seen = [];
    expect(await c.get(r(302, `${aUrl}/abs`))).toEqual({ server: 'a', path: '/abs' });
    seen = [];
    expect(await c.get(`/nested/${r(302, '../up').slice(1)}`)).toEqual({ server: 'a', path: '/nested/up' });
    await c.close();
  });

  it('307 and 308 keep the method and body; 303, and 301/302 after POST, go on as GET without a body', async () => {
    const c = client();
    for (const status of [307, 308]) {
      seen = [];
      await c.post(r(status, '/target'), { n: status }, { idempotencyKey: `k${status}` });
      expect(seen[1]).toMatchObject({ method: 'POST', url: '/target', body: JSON.stringify({ n: status }) });
      expect(seen[1]!.headers['idempotency-key']).toBe(`k${status}`);
    }
    for (const status of [301, 302, 303]) {
      seen = [];
      await c.post(r(status, '/target'), { n: status });
      expect(seen[0]!.method).toBe('POST');
      expect(seen[1]).toMatchObject({ method: 'GET', url: '/target', body: '' });
      expect(seen[1]!.headers['content-type']).toBeUndefined();
      expect(seen[1]!.headers['content-length']).toBeUndefined();
    }
    seen = [];
    await c.put(r(303, '/target'), { n: 1 });
    expect(seen[1]!.method).toBe('GET');
    seen = [];
    await c.put(r(302, '/target'), { n: 1 });
    expect(seen[1]).toMatchObject({ method: 'PUT', body: JSON.stringify({ n: 1 }) });
    await c.close();
  });

  it('drops Authorization, Cookie and Proxy-Authorization when leaving the origin, keeps them within it', async () => {
    const c = client();
    const headers = {
      Authorization: 'Bearer secret',
      Cookie: 'sid=1',
      'Proxy-Authorization': 'Basic x',
      'X-Trace': 't1',
    };
    await c.get(r(302, '/same'), { headers });
    expect(seen[1]!.headers.authorization).toBe('Bearer secret');
    expect(seen[1]!.headers.cookie).toBe('sid=1');
    seen = [];
    expect(await c.get(r(302, `${bUrl}/other`), { headers })).toEqual({ server: 'b', path: '/other' });
    const hop = seen[1]!;
    expect(hop.server).toBe('b');
    expect(hop.headers.authorization).toBeUndefined();
    expect(hop.headers.cookie).toBeUndefined();
    expect(hop.headers['proxy-authorization']).toBeUndefined();
    expect(hop.headers['x-trace']).toBe('t1');
    expect(hop.headers['x-request-deadline-ms']).toMatch(/^\d+$/);
    seen = [];
    await c.get(r(302, `${bUrl}/other`), { auth: { username: 'u', password: 'p' } });
    expect(seen[0]!.headers.authorization).toMatch(/^Basic /);
    expect(seen[1]!.headers.authorization).toBeUndefined();
    await c.close();
  });

  it("drops the credentials of axios' defaults and of header buckets when leaving the origin", async () => {
    // The own instance starts from axios.defaults of the process (headers, auth,
    // sensitiveHeaders) and axios merges its defaults into every request.
    const common = axios.defaults.headers.common as Record<string, unknown>;
    const defaults = axios.defaults as typeof axios.defaults & { sensitiveHeaders?: string[] };
    common.Authorization = 'Bearer default-secret';
    common['X-Default-Key'] = 'default-key';
    defaults.sensitiveHeaders = ['X-Default-Key'];
    let c: ServiceClient;
    try {
      c = client();
    } finally {
      delete common.Authorization;
      delete common['X-Default-Key'];
      delete defaults.sensitiveHeaders;
    }
    await c.get(r(302, '/same'));
    expect(seen[1]!.headers.authorization).toBe('Bearer default-secret');
    // Header buckets are typed as AxiosHeaders; plain objects are what people pass.
    const calls: Array<Record<string, unknown> | undefined> = [
      undefined,
      { headers: { Authorization: 'Bearer call' } },
      { headers: { common: { Authorization: 'Bearer common-bucket', Cookie: 'sid=c' } } },
      {
        headers: { get: { Authorization: 'Bearer get-bucket', 'X-Api-Key': 'k' } },
        sensitiveHeaders: ['x-api-key'],
      },
      { auth: { username: 'u', password: 'p' } },
    ];
    for (const config of calls) {
      seen = [];
      expect(await c.get(r(302, `${bUrl}/other`), config as never)).toEqual({ server: 'b', path: '/other' });
      expect(seen[0]!.headers.authorization).toBeDefined();
      const hop = seen[1]!;
      expect(hop.server).toBe('b');
      expect(hop.headers.authorization).toBeUndefined();
      expect(hop.headers.cookie).toBeUndefined();
      expect(hop.headers['x-api-key']).toBeUndefined();
      expect(hop.headers['x-default-key']).toBeUndefined();
    }
    // Back to the first origin after leaving it: still without credentials.
    seen = [];
    await c.get(r(302, `${bUrl}${r(302, `${aUrl}/back`)}`));
    expect(seen.map((s) => s.server)).toEqual(['a', 'b', 'a']);
    expect(seen[2]!.headers.authorization).toBeUndefined();
    await c.close();
  });

  it("drops axios' default auth of the process when leaving the origin", async () => {
    axios.defaults.auth = { username: 'u', password: 'default-password' };
    let c: ServiceClient;
    try {
      c = client();
    } finally {
      delete axios.defaults.auth;
    }
    await c.get(r(302, `${bUrl}/other`));
    expect(seen[0]!.headers.authorization).toMatch(/^Basic /);
    expect(seen[1]!.headers.authorization).toBeUndefined();
    await c.close();
  });

  it('stops at maxRedirects and answers HttpStatusError with the last 3xx; 0 follows none; per call too', async () => {
    const c = client({ maxRedirects: 3 });
    const err = await c.get('/loop').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpStatusError);
    expect((err as HttpStatusError).response.status).toBe(302);
    expect(seen.length).toBe(4); // the first request and 3 redirects
    seen = [];
    const none = client({ maxRedirects: 0 });
    await expect(none.get(r(302, '/x'))).rejects.toBeInstanceOf(HttpStatusError);
    expect(seen.length).toBe(1);
    seen = [];
    await expect(c.get(r(302, '/x'), { maxRedirects: 0 })).rejects.toBeInstanceOf(HttpStatusError);
    expect(seen.length).toBe(1);
    seen = [];
    const accepted = await c.requestResponse({
      url: r(302, '/x'),
      maxRedirects: 0,
      validateStatus: () => true,
    });
    expect(accepted.status).toBe(302);
    await c.close();
    await none.close();
  });

  it('with responseType stream, drains each 3xx body and the final stream reads through', async () => {
    const c = client();
    connections.a = 0;
    const response = await c.requestResponse({ url: r(302, r(307, '/streamed')), responseType: 'stream' });
    const chunks: Buffer[] = [];
    for await (const chunk of response.data as AsyncIterable<Buffer>) chunks.push(chunk);
    expect(JSON.parse(Buffer.concat(chunks).toString())).toEqual({ server: 'a', path: '/streamed' });
    expect(seen.map((s) => s.url)).toEqual([r(302, r(307, '/streamed')), r(307, '/streamed'), '/streamed']);
    // The drained first socket went back to the pool and carried the last hop
    // (an undrained 3xx body would hold each socket: 3 connections).
    expect(connections.a).toBeLessThanOrEqual(2);
    await c.close();
  });

  it('does not follow a missing Location or a non-http(s) target', async () => {
    const c = client();
    for (const path of ['/no-location', r(302, 'ftp://127.0.0.1/file'), r(302, 'file:///etc/passwd')]) {
      seen = [];
      const err = await c.get(path).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HttpStatusError);
      expect(seen.length).toBe(1);
    }
    await c.close();
  });

  it('the attempt timeout covers the whole chain: a hanging hop ends in a TimeoutError', async () => {
    const c = client({ attemptTimeoutMs: 200 });
    const err = await c.get(r(302, '/hang')).catch((e: unknown) => e);
    expect(isScaleoutError(err, 'ERR_TIMEOUT')).toBe(true);
    expect(seen.map((s) => s.url)).toEqual([r(302, '/hang'), '/hang']);
    await c.close();
  });

  it('with a caller-supplied axios instance, that instance follows redirects as it is configured', async () => {
    const c = new ServiceClient({ baseUrl: aUrl }, { axios: axios.create() });
    expect(await c.get(r(302, '/via-axios'))).toEqual({ server: 'a', path: '/via-axios' });
    const noFollow = new ServiceClient({ baseUrl: aUrl }, { axios: axios.create({ maxRedirects: 0 }) });
    await expect(noFollow.get(r(302, '/x'))).rejects.toBeInstanceOf(HttpStatusError);
    await c.close();
    await noFollow.close();
  });

  it('rejects a bad maxRedirects option', () => {
    for (const maxRedirects of [-1, 1.5, 101, Number.NaN]) {
      expect(() => client({ maxRedirects })).toThrow(InvalidOptionsError);
    }
  });
});
