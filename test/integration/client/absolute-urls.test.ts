/**
 * A request never leaves the client's upstream: absolute and
 * protocol-relative URLs given as the path are refused (the axios SSRF
 * class, CVE-2025-27152), and an instance URL a registry hands out that is
 * not http(s) never reaches axios. Two real servers on loopback: B must
 * receive nothing.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ServiceClient } from '../../../src/client/service-client.js';
import type { UpstreamInstance, UpstreamSource } from '../../../src/contracts/upstream.js';
import { isScaleoutError } from '../../../src/errors.js';

interface Upstream {
  server: Server;
  url: string;
  host: string;
  paths: string[];
}

async function upstream(name: string): Promise<Upstream> {
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(req.url ?? '');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ served: name, path: req.url }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { server, url: `http://${host}`, host, paths };
}

let a: Upstream;
let b: Upstream;

beforeAll(async () => {
  a = await upstream('A');
  b = await upstream('B');
});

afterEach(() => {
  a.paths.length = 0;
  b.paths.length = 0;
});

afterAll(async () => {
  for (const u of [a, b]) await new Promise<void>((resolve) => u.server.close(() => resolve()));
});

/** Every spelling of "somewhere else" tried as a path. */
function hostileUrls(host: string): string[] {
  return [
    `http://${host}/x`,
    `HTTP://${host}/x`,
    `hTtPs://${host}/x`,
    `//${host}/x`,
    `/\\${host}/x`,
    `\\\\${host}/x`,
    `\\/${host}/x`,
    `\\${host}/x`,
    ` http://${host}/x`,
    `\thttp://${host}/x`,
    `\n//${host}/x`,
    `\u0000http://${host}/x`,
    `\u00a0//${host}/x`,
    `\u001f//${host}/x`,
    `http:/${host}/x`,
    `http:${host}/x`,
    `http:\\\\${host}/x`,
    `ftp://${host}/x`,
    `file:///etc/passwd`,
    'data:application/json,{"admin":true}',
    'javascript:alert(1)',
    `/x\r\nHost: ${host}`,
  ];
}

async function refusal(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('ServiceClient: a path can never leave the upstream', () => {
  it('refuses absolute, protocol-relative, backslash, whitespace- and control-led paths on every method; B receives nothing', async () => {
    const client = new ServiceClient({ baseUrl: a.url }, { retry: { maxAttempts: 1 } });
    let attempts = 0;
    client.on('attempt', () => attempts++);
    for (const url of hostileUrls(b.host)) {
      const calls: Array<[string, Promise<unknown>]> = [
        ['get', client.get(url)],
        ['delete', client.delete(url)],
        ['post', client.post(url, { x: 1 })],
        ['put', client.put(url, { x: 1 })],
        ['patch', client.patch(url, { x: 1 })],
        ['request', client.request({ method: 'get', url })],
        ['requestResponse', client.requestResponse({ url })],
      ];
      for (const [method, call] of calls) {
        const err = await refusal(call);
        expect(isScaleoutError(err, 'ERR_INVALID_ARGUMENT'), `${method} ${JSON.stringify(url)}`).toBe(true);
        expect((err as { argument?: string }).argument).toBe('url');
        // The message never echoes the URL (it may carry a token).
        expect((err as Error).message).not.toContain(b.host);
      }
    }
    expect(b.paths).toEqual([]);
    expect(a.paths).toEqual([]);
    // Refused before anything was sent: nothing charged to A's breaker, no attempt.
    expect(attempts).toBe(0);
    expect(client.breakerState()).toBe('closed');
    // Ordinary paths still work, on A.
    expect(await client.get('/items/1?q=http://b.example/x')).toEqual({
      served: 'A',
      path: '/items/1?q=http://b.example/x',
    });
    expect(await client.get('items/2')).toEqual({ served: 'A', path: '/items/2' });
    expect(await client.get('/a:b//c')).toEqual({ served: 'A', path: '/a:b//c' });
    expect(b.paths).toEqual([]);
    await client.close();
  });

  it("with absoluteUrls: 'same-origin', an absolute URL of the base URL's origin is sent; any other origin is refused", async () => {
    const client = new ServiceClient({ baseUrl: `${a.url}/api` }, { absoluteUrls: 'same-origin' });
    expect(await client.get(`${a.url}/api/items/1`)).toEqual({ served: 'A', path: '/api/items/1' });
    expect(await client.get(`${a.url.toUpperCase().replace('HTTP', 'http')}/other`)).toEqual({
      served: 'A',
      path: '/other',
    });
    expect(await client.get('/items/2')).toEqual({ served: 'A', path: '/api/items/2' });
    for (const url of [
      ...hostileUrls(b.host),
      `http://user:pw@${a.host}/x`,
      `https://${a.host}/x`,
      `//${a.host}/x`,
    ]) {
      const err = await refusal(client.get(url));
      expect(isScaleoutError(err, 'ERR_INVALID_ARGUMENT'), JSON.stringify(url)).toBe(true);
    }
    expect(b.paths).toEqual([]);
    await client.close();
  });

  it("absoluteUrls: 'same-origin' needs a base URL; a bad value is refused", () => {
    const registry: UpstreamSource = { pick: () => undefined };
    expect(
      () => new ServiceClient({ service: 'inventory', registry }, { absoluteUrls: 'same-origin' }),
    ).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', option: 'absoluteUrls' }));
    expect(
      () => new ServiceClient({ baseUrl: a.url }, { absoluteUrls: 'any' as unknown as 'same-origin' }),
    ).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', option: 'absoluteUrls' }));
  });
});

describe('ServiceClient: an instance URL that is not http(s) never reaches axios', () => {
  const badUrls = [
    'data:application/json,{"admin":true}',
    'file:///etc/passwd',
    'javascript:alert(1)',
    ' http://127.0.0.1:1',
    'ftp://127.0.0.1/',
    '//127.0.0.1:1',
    '',
  ];

  function source(instances: UpstreamInstance[]) {
    const started: string[] = [];
    const registry: UpstreamSource = {
      pick: (_s, { exclude }) => instances.find((i) => !exclude.has(i.id)) ?? instances[0],
      onAttemptStart: (_s, id) => {
        started.push(id);
      },
    };
    return { registry, started };
  }

  it('skips such an instance and calls another one', async () => {
    for (const url of badUrls) {
      const { registry, started } = source([
        { id: 'bad', url },
        { id: 'good', url: a.url },
      ]);
      const client = new ServiceClient({ service: 'inventory', registry });
      expect(await client.get('/x')).toEqual({ served: 'A', path: '/x' });
      expect(started, JSON.stringify(url)).toEqual(['good']);
      await client.close();
    }
  });

  it('fails with a typed error when no other instance is left, sending nothing', async () => {
    for (const url of badUrls) {
      const { registry, started } = source([{ id: 'bad', url }]);
      const client = new ServiceClient({ service: 'inventory', registry });
      const err = await refusal(client.get('/x'));
      expect(isScaleoutError(err, 'ERR_NO_UPSTREAM'), JSON.stringify(url)).toBe(true);
      expect((err as Error).message).not.toContain('admin');
      expect(started).toEqual([]);
      await client.close();
    }
  });

  it('a source handing out junk instead of an instance gets a typed error', async () => {
    for (const junk of [42, 'http://127.0.0.1:1', null, { id: 7, url: a.url }, { id: 'x' }, []]) {
      const registry = { pick: () => junk } as unknown as UpstreamSource;
      const client = new ServiceClient({ service: 'inventory', registry });
      const err = await refusal(client.get('/x'));
      expect(isScaleoutError(err, 'ERR_NO_UPSTREAM'), JSON.stringify(junk)).toBe(true);
      await client.close();
    }
  });
});

describe('ServiceClient: a base URL never carries a query or fragment', () => {
  /** What A's paths would have been: `/api?version=2/items/42&q=x`, or `/api?q=x` with the path dropped. */
  const withQueryOrFragment = (origin: string) => [
    `${origin}/api?version=2`,
    `${origin}/api#v2`,
    `${origin}/api?`,
    `${origin}/api#`,
    `${origin}?token=secret`,
    `${origin}/#/`,
  ];

  it('refuses such a baseUrl at construction, naming the option, not the URL', () => {
    for (const baseUrl of withQueryOrFragment(a.url)) {
      let err: unknown;
      try {
        new ServiceClient({ baseUrl });
      } catch (e) {
        err = e;
      }
      expect(err, baseUrl).toMatchObject({ code: 'ERR_INVALID_OPTIONS', option: 'baseUrl' });
      expect((err as Error).message).not.toContain('secret');
    }
    expect(a.paths).toEqual([]);
  });

  it('skips an instance of an UpstreamSource whose URL has one; NoUpstreamError when none is left', async () => {
    for (const url of withQueryOrFragment(a.url)) {
      const started: string[] = [];
      const only: UpstreamSource = {
        pick: () => ({ id: 'bad', url }),
        onAttemptStart: (_s, id) => void started.push(id),
      };
      const client = new ServiceClient({ service: 'inventory', registry: only });
      const err = await refusal(client.get('/items/42', { params: { q: 'x' } }));
      expect(isScaleoutError(err, 'ERR_NO_UPSTREAM'), url).toBe(true);
      expect((err as Error).message).not.toContain('secret');
      expect(started).toEqual([]);
      await client.close();

      const instances = [
        { id: 'bad', url },
        { id: 'good', url: `${b.url}/api` },
      ];
      const two: UpstreamSource = {
        pick: (_s, { exclude }) => instances.find((i) => !exclude.has(i.id)) ?? instances[0],
      };
      const other = new ServiceClient({ service: 'inventory', registry: two });
      expect(await other.get('/items/42', { params: { q: 'x' } })).toEqual({
        served: 'B',
        path: '/api/items/42?q=x',
      });
      await other.close();
    }
    expect(a.paths).toEqual([]);
  });
});
