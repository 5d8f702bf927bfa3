import { AsyncLocalStorage } from 'node:async_hooks';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import axios, { type AxiosAdapter, type InternalAxiosRequestConfig } from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceClient } from '../../../src/client/service-client.js';
import { isScaleoutError } from '../../../src/errors.js';

let server: Server;
let baseUrl: string;

beforeAll(async () => {
  // Never answers: every attempt ends by its timeout.
  server = createServer(() => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('ServiceClient: async context of attempt timeouts', () => {
  it("three concurrent calls that time out: each one's abort runs in that call's context, not the first call's", async () => {
    const als = new AsyncLocalStorage<string>();
    const http = axios.getAdapter('http') as AxiosAdapter;
    const seen: Array<[string, string | undefined]> = [];
    // What axios (and any adapter, interceptor or instrumentation) does with the
    // attempt's signal: listen for its abort, then tear the request down.
    const observing =
      (name: string): AxiosAdapter =>
      (config: InternalAxiosRequestConfig) => {
        config.signal?.addEventListener?.('abort', () => seen.push([name, als.getStore()]));
        return http(config);
      };
    const client = new ServiceClient(
      { baseUrl },
      { attemptTimeoutMs: 60, retry: { maxAttempts: 1 }, breaker: false, retryBudget: false },
    );
    const calls = ['A', 'B', 'C'].map((name) =>
      als.run(name, () => client.get('/slow', { adapter: observing(name) }).catch((err: unknown) => err)),
    );
    const errors = await Promise.all(calls);
    for (const err of errors) expect(isScaleoutError(err, 'ERR_TIMEOUT')).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen.sort()).toEqual([
      ['A', 'A'],
      ['B', 'B'],
      ['C', 'C'],
    ]);
    await client.close();
  });
});
