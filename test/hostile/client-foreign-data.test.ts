/**
 * Foreign data for ServiceClient: upstreams on loopback that answer with
 * hostile bodies (prototype-pollution JSON, escaped or not; huge bodies;
 * wrong or lying content types; JSON nested 100,000 deep; bodies that are
 * not JSON where JSON was asked for). Each call ends in a documented value
 * or a typed error, never pollutes a prototype, never crashes, and a data
 * error is not counted against the upstream (no retry, breaker closed).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceClient } from '../../src/client/service-client.js';
import { isScaleoutError } from '../../src/errors.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let baseUrl: string;
const routes = new Map<string, Handler>();
const hits = new Map<string, number>();
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

function route(path: string, handler: Handler): string {
  routes.set(path, handler);
  return path;
}

function body(
  path: string,
  text: string | Buffer,
  contentType = 'application/json',
  extra: Record<string, string> = {},
) {
  return route(path, (_req, res) => {
    res.writeHead(200, { 'content-type': contentType, ...extra });
    res.end(text);
  });
}

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]!;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const handler = routes.get(path);
    if (handler === undefined) {
      res.writeHead(404).end();
      return;
    }
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
  expect(({} as Record<string, unknown>).admin).toBeUndefined();
  expect(Object.prototype).not.toHaveProperty('admin');
});

async function outcome(call: Promise<unknown>): Promise<{ value?: unknown; error?: unknown }> {
  try {
    return { value: await call };
  } catch (error) {
    return { error };
  }
}

const POLLUTED = [
  '{"__proto__":{"admin":true}}',
  String.raw`{"\u005f_proto__":{"admin":true}}`,
  String.raw`{"_\u005Fproto__":{"admin":true}}`,
  String.raw`{"\u005f\u005f\u0070\u0072\u006f\u0074\u006f\u005f\u005f":{"admin":true}}`,
  '{"constructor":{"prototype":{"admin":true}}}',
  String.raw`{"constructor":{"\u0070rototype":{"admin":true}}}`,
  String.raw`{"\u0063onstructor":{"prototyp\u0065":{"admin":true}}}`,
  String.raw`{"user":{"roles":[{"x":1},{"\u005f_proto__":{"admin":true}}]}}`,
  String.raw`[[[{"__pr\u006fto__":{"admin":true}}]]]`,
];

describe('ServiceClient against upstreams that answer hostile bodies', () => {
  it('a prototype-pollution body (escaped or not, any depth) is refused with ERR_UNSAFE_PAYLOAD, not retried, not a failure', async () => {
    const client = new ServiceClient(
      { baseUrl },
      { retry: { maxAttempts: 3, backoff: { baseMs: 1, maxMs: 2 } } },
    );
    for (const [i, text] of POLLUTED.entries()) {
      for (const type of ['application/json', 'text/plain', 'application/octet-stream', '']) {
        const path = body(`/polluted/${i}/${type.replace('/', '-')}`, text, type);
        const { value, error } = await outcome(client.get(path));
        expect(value, `${text} as ${type}`).toBeUndefined();
        expect(isScaleoutError(error, 'ERR_UNSAFE_PAYLOAD'), `${text} as ${type}`).toBe(true);
        expect(hits.get(path)).toBe(1);
      }
    }
    expect(client.breakerState()).toBe('closed');
    await client.close();
  });

  it('asked for text, the same bodies come back as text (nothing parsed, nothing to pollute)', async () => {
    const client = new ServiceClient({ baseUrl });
    for (const [i, text] of POLLUTED.entries()) {
      const path = body(`/as-text/${i}`, text);
      expect(await client.get(path, { responseType: 'text' })).toBe(text);
    }
    await client.close();
  });

  it('ordinary bodies are unchanged, escapes and look-alike keys included', async () => {
    const client = new ServiceClient({ baseUrl });
    const texts = [
      '{"proto":1,"prototypes":[1],"constructor":"Foo","name":"Jos\\u00e9 \\u2713"}',
      '{"k":"__proto__","note":"the prototype of the engine"}',
      '[1,2,3]',
      '"just a string"',
      'null',
    ];
    for (const [i, text] of texts.entries()) {
      const path = body(`/ordinary/${i}`, text);
      expect(await client.get(path)).toEqual(JSON.parse(text));
    }
    await client.close();
  });

  it('a body larger than maxResponseBytes fails with ERR_PAYLOAD_TOO_LARGE, once, without a failure on the breaker', async () => {
    const client = new ServiceClient(
      { baseUrl },
      { maxResponseBytes: 1_000_000, breaker: { consecutiveFailures: 1 } },
    );
    const big = Buffer.alloc(5_000_000, 'a');
    const declared = body('/huge', big, 'application/json');
    const chunked = route('/huge-chunked', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      let sent = 0;
      const more = () => {
        while (sent < 5_000_000) {
          sent += 64_000;
          if (!res.write(Buffer.alloc(64_000, 'b'))) {
            res.once('drain', more);
            return;
          }
        }
        res.end();
      };
      more();
    });
    for (const path of [declared, chunked]) {
      const { error } = await outcome(client.get(path));
      expect(isScaleoutError(error, 'ERR_PAYLOAD_TOO_LARGE'), path).toBe(true);
      expect(error).toMatchObject({ maxBytes: 1_000_000 });
      expect(hits.get(path)).toBe(1);
    }
    expect(client.breakerState()).toBe('closed');
    // Per call, axios' maxContentLength wins.
    const { error } = await outcome(client.get(declared, { maxContentLength: 10 }));
    expect(error).toMatchObject({ code: 'ERR_PAYLOAD_TOO_LARGE', maxBytes: 10 });
    expect(
      (await client.get(declared, { maxContentLength: 6_000_000, responseType: 'text' })) as string,
    ).toHaveLength(5_000_000);
    await client.close();
  });

  it('wrong or lying content types: text that is not JSON stays text; strict JSON parsing makes it ERR_DESERIALIZE, not retried', async () => {
    const client = new ServiceClient(
      { baseUrl },
      { retry: { maxAttempts: 3, backoff: { baseMs: 1, maxMs: 2 } } },
    );
    const garbage = body('/garbage', Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x22]), 'application/json');
    const truncated = body('/truncated', '{"a":[1,2,', 'application/json');
    const html = body('/html', '<html><body>{"admin":true}</body></html>', 'application/json');
    expect(typeof (await client.get(garbage))).toBe('string');
    expect(await client.get(truncated)).toBe('{"a":[1,2,');
    expect(await client.get(html)).toContain('<html>');
    for (const path of [garbage, truncated, html]) {
      // axios' default (transitional.silentJSONParsing): text that does not parse stays text.
      expect(typeof (await client.get(path, { responseType: 'json' }))).toBe('string');
      const before = hits.get(path) ?? 0;
      const strict = { responseType: 'json', transitional: { silentJSONParsing: false } } as const;
      const { error } = await outcome(client.get(path, strict));
      expect(
        isScaleoutError(error, 'ERR_DESERIALIZE'),
        `${path}: ${String(error)} ${(error as { cause?: unknown })?.cause}`,
      ).toBe(true);
      expect(hits.get(path)).toBe(before + 1);
    }
    const gzipLie = body('/gzip-lie', 'not gzip at all', 'application/json', { 'content-encoding': 'gzip' });
    const { error } = await outcome(client.get(gzipLie));
    expect(isScaleoutError(error)).toBe(true);
    expect(client.breakerState()).toBe('closed');
    await client.close();
  });

  it('JSON nested 100,000 deep, with and without a pollution key at the bottom: no crash', async () => {
    const client = new ServiceClient({ baseUrl });
    const depth = 100_000;
    const deep = `${'['.repeat(depth)}1${']'.repeat(depth)}`;
    const deepPolluted = `${'{"a":'.repeat(depth)}{"\\u005f_proto__":{"admin":true}}${'}'.repeat(depth)}`;
    const plain = await outcome(client.get(body('/deep', deep)));
    expect(plain.error === undefined || isScaleoutError(plain.error)).toBe(true);
    const polluted = await outcome(client.get(body('/deep-polluted', deepPolluted)));
    expect(polluted.value).toBeUndefined();
    expect(isScaleoutError(polluted.error)).toBe(true);
    await client.close();
  });
});
