/**
 * What a call puts in its headers reaches the server as given, or the call
 * is refused: Node writes each character of a header value as one byte and
 * axios drops control characters and those past Latin-1, so two different
 * idempotency keys could arrive as one. A real server on loopback records
 * what arrives; a refused call sends nothing.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ServiceClient } from '../../../src/client/service-client.js';
import { InvalidArgumentError, InvalidOptionsError } from '../../../src/errors.js';
import { readKeyHeader } from '../../../src/idempotency/idempotency-key.js';

let server: Server;
let baseUrl: string;
let seen: IncomingHttpHeaders[] = [];
let client: ServiceClient;

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.headers);
    res.setHeader('content-type', 'application/json');
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  client = new ServiceClient({ baseUrl }, { retry: { maxAttempts: 1 } });
});

beforeEach(() => {
  seen = [];
});

afterAll(async () => {
  await client.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('ServiceClient idempotency keys reach the server unchanged', () => {
  it('different keys arrive as different keys, each as the idempotency middleware reads it', async () => {
    const keys = ['order-3', 'order 3', 'a:b/c?d=e&f#g', '~!@#$%^&*()_+{}|', 'x'.repeat(255)];
    for (const key of keys) await client.post('/orders', {}, { idempotencyKey: key });
    const received = seen.map((h) => h['idempotency-key']);
    expect(received).toEqual(keys);
    expect(received.map((value) => readKeyHeader(value, 255))).toEqual(
      keys.map((key) => ({ kind: 'key', key })),
    );
  });

  it('refuses a key the wire or the server would change, naming the option, and sends nothing', async () => {
    const refused = [
      'order-\u2133', // ℳ: past Latin-1, axios drops it
      'order-\u0133', // ĳ
      'order-\u4e33', // 丳
      'order-\u00e9', // é: Latin-1 bytes, not printable ASCII
      'order-😀',
      ' order-3', // trimmed on the wire
      'order-3\t',
      '"order-3"', // read as a quoted string
      'x'.repeat(256),
      '',
      'a\r\nb',
    ];
    for (const key of refused) {
      const err = await client.post('/orders', {}, { idempotencyKey: key }).catch((e: unknown) => e);
      expect(err, JSON.stringify(key)).toBeInstanceOf(InvalidArgumentError);
      expect(err).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', argument: 'idempotencyKey' });
      expect((err as Error).message).not.toContain(key || '\u0000');
    }
    expect(seen).toEqual([]);
  });

  it('refuses an Idempotency-Key header the server would not read as a key; a quoted one passes as given', async () => {
    for (const value of ['a\r\nb', 'order-\u2133', 'order-\u00e9', '"unterminated', '']) {
      const err = await client
        .post('/orders', {}, { headers: { 'Idempotency-Key': value } })
        .catch((e: unknown) => e);
      expect(err, JSON.stringify(value)).toBeInstanceOf(InvalidOptionsError);
      expect(err).toMatchObject({ code: 'ERR_INVALID_OPTIONS', option: 'headers' });
    }
    expect(seen).toEqual([]);
    await client.post('/orders', {}, { headers: { 'idempotency-key': '"order-9"' } });
    expect(seen[0]!['idempotency-key']).toBe('"order-9"');
  });

  it('refuses an idempotencyKey and an Idempotency-Key header that name different keys; one key twice passes', async () => {
    const err = await client
      .post('/orders', {}, { idempotencyKey: 'order-1', headers: { 'Idempotency-Key': 'order-2' } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidOptionsError);
    expect(err).toMatchObject({ code: 'ERR_INVALID_OPTIONS', option: 'idempotencyKey' });
    expect(seen).toEqual([]);
    await client.post(
      '/orders',
      {},
      { idempotencyKey: 'order-3', headers: { 'idempotency-key': '"order-3"' } },
    );
    expect(readKeyHeader(seen[0]!['idempotency-key'], 255)).toEqual({ kind: 'key', key: 'order-3' });
  });
});

describe('ServiceClient header values reach the server unchanged', () => {
  it('refuses a value with CR, LF or another control character, or one past Latin-1, wherever it is', async () => {
    const refused: Array<Record<string, unknown>> = [
      { 'X-Note': 'a\r\nb' },
      { 'X-Note': 'a\nInjected: 1' },
      { 'X-Note': 'nul\u0000' },
      { 'X-Note': 'del\u007f' },
      { 'X-Note': 'snow \u2603' },
      { 'X-Note': ['ok', 'bad\r\n'] },
      { common: { 'X-Note': 'a\r\nb' } },
      { post: { 'X-Note': '\u4e33' } },
    ];
    for (const headers of refused) {
      const err = await client.post('/notes', {}, { headers: headers as never }).catch((e: unknown) => e);
      expect(err, JSON.stringify(headers)).toBeInstanceOf(InvalidOptionsError);
      expect(err).toMatchObject({ code: 'ERR_INVALID_OPTIONS', option: 'headers' });
      expect((err as Error).message).toContain('X-Note');
    }
    expect(seen).toEqual([]);
  });

  it('sends tab, printable ASCII and Latin-1 values as they are', async () => {
    await client.get('/notes', { headers: { 'X-Note': 'caf\u00e9\tau lait', 'X-Count': 3 } as never });
    expect(seen[0]!['x-note']).toBe('caf\u00e9\tau lait');
    expect(seen[0]!['x-count']).toBe('3');
  });
});
