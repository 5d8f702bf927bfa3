/**
 * `responseType: 'stream'`: the body the caller reads fails with the same
 * typed errors as a buffered one (PayloadTooLargeError past
 * maxResponseBytes), and no error the client hands out carries the
 * request's headers (an axios error holds the request config and the
 * request, Authorization included). A real server on loopback sends the
 * bodies.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { inspect } from 'node:util';
import axios from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceClient } from '../../../src/client/service-client.js';
import { HttpStatusError, isScaleoutError, PayloadTooLargeError } from '../../../src/errors.js';

const SECRET = 'Bearer SECRET-TOKEN-4711';
const MiB = 1 << 20;
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/big') return void res.end(Buffer.alloc(4 * MiB, 0x61));
    if (req.url === '/small') return void res.end(Buffer.alloc(1000, 0x62));
    if (req.url === '/broken') {
      res.writeHead(200, { 'content-length': String(MiB) });
      res.write(Buffer.alloc(1000, 0x63), () => res.destroy());
      return;
    }
    res.writeHead(500, { 'content-type': 'text/plain' }).end('upstream failed');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Reads `stream` to its end: the byte count, or the error it failed with. */
async function drain(stream: Readable): Promise<number | { error: unknown }> {
  let bytes = 0;
  try {
    for await (const chunk of stream) bytes += (chunk as Buffer).length;
  } catch (error) {
    return { error };
  }
  return bytes;
}

/** Everything an error shows when logged in full. */
const shown = (err: unknown) => inspect(err, { depth: 8, showHidden: true });

const headers = { Authorization: SECRET };

describe('ServiceClient: streamed response bodies', () => {
  it('past maxResponseBytes the stream fails with PayloadTooLargeError, as a buffered body does, without the headers', async () => {
    const client = new ServiceClient({ baseUrl }, { maxResponseBytes: MiB });
    const buffered = await client.get('/big', { headers }).catch((e: unknown) => e);
    expect(buffered).toBeInstanceOf(PayloadTooLargeError);
    const stream = await client.get<Readable>('/big', { responseType: 'stream', headers });
    const read = await drain(stream);
    expect(read).toEqual({ error: expect.any(PayloadTooLargeError) });
    const err = (read as { error: PayloadTooLargeError }).error;
    expect(err).toMatchObject({ code: 'ERR_PAYLOAD_TOO_LARGE', maxBytes: MiB });
    expect(err.message).toContain('GET /big');
    expect(shown(err)).not.toContain('SECRET-TOKEN');
    // The per-call maxContentLength is the limit too.
    const small = await client.get<Readable>('/small', {
      responseType: 'stream',
      maxContentLength: 10,
      headers,
    });
    expect(await drain(small)).toEqual({ error: expect.objectContaining({ maxBytes: 10 }) });
    await client.close();
  });

  it('within the limit the stream reads every byte', async () => {
    const client = new ServiceClient({ baseUrl }, { maxResponseBytes: MiB });
    expect(await drain(await client.get<Readable>('/small', { responseType: 'stream' }))).toBe(1000);
    await client.close();
  });

  it("through the caller's axios instance too", async () => {
    const client = new ServiceClient({ baseUrl }, { axios: axios.create({ maxContentLength: MiB }) });
    const read = await drain(await client.get<Readable>('/big', { responseType: 'stream', headers }));
    expect(read).toEqual({ error: expect.any(PayloadTooLargeError) });
    expect(shown((read as { error: unknown }).error)).not.toContain('SECRET-TOKEN');
    await client.close();
  });

  it('a body cut short fails without the headers', async () => {
    const client = new ServiceClient({ baseUrl }, { maxResponseBytes: 2 * MiB });
    const read = await drain(await client.get<Readable>('/broken', { responseType: 'stream', headers }));
    expect(read).toEqual({ error: expect.any(Error) });
    expect(shown((read as { error: unknown }).error)).not.toContain('SECRET-TOKEN');
    await client.close();
  });

  it('an HttpStatusError with a streamed body holds the body, not the request', async () => {
    const client = new ServiceClient({ baseUrl }, { retry: { maxAttempts: 1 } });
    for (const maxContentLength of [undefined, -1]) {
      const err = await client
        .get('/fail', { responseType: 'stream', maxContentLength, headers })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HttpStatusError);
      expect(isScaleoutError(err, 'ERR_HTTP_STATUS')).toBe(true);
      expect(shown(err)).not.toContain('SECRET-TOKEN');
      const body = (err as HttpStatusError).response.data as Readable;
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(chunk as Buffer);
      expect(Buffer.concat(chunks).toString()).toBe('upstream failed');
    }
    await client.close();
  });
});
