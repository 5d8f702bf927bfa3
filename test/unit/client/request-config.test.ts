/**
 * Nothing silent in ServiceClient's per-call config and the design's call
 * shapes: they either work as the design means or fail with the fix. (The
 * constructor's target and options: service-client-target.test.ts,
 * service-client-options.test.ts.)
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import type { ServiceRequestConfig } from '../../../src/client/call-state.js';
import { AXIOS_REQUEST_CONFIG_KEYS } from '../../../src/client/request-config.js';
import { ServiceClient } from '../../../src/client/service-client.js';
import { InvalidOptionsError, isScaleoutError } from '../../../src/errors.js';
import { BASE, useNock } from './fixtures.js';

useNock();

/** The error `fn` throws or its promise rejects with. */
async function failure(fn: () => unknown): Promise<InvalidOptionsError & { argument?: string }> {
  try {
    await fn();
  } catch (err) {
    return err as InvalidOptionsError;
  }
  throw new Error('expected a failure');
}

describe('ServiceClient per-call config', () => {
  it("refuses the design's get(path, params): { sku } names params: { sku }, and nothing is sent", async () => {
    const scope = nock(BASE).get(/.*/).reply(200, {});
    const client = new ServiceClient({ baseUrl: BASE });
    const err = await failure(() => client.get('/stock', { sku: 'bolt' } as ServiceRequestConfig));
    expect(err).toBeInstanceOf(InvalidOptionsError);
    expect(err).toMatchObject({ code: 'ERR_INVALID_OPTIONS', option: 'sku', suggestion: 'params' });
    expect(err.message).toContain('params: { sku');
    expect(err.message).not.toContain('bolt');
    expect(scope.isDone()).toBe(false);
    // The fix the message gives works.
    nock.cleanAll();
    nock(BASE).get('/stock').query({ sku: 'bolt' }).reply(200, { sku: 'bolt', stock: 3 });
    expect(await client.get('/stock', { params: { sku: 'bolt' } })).toEqual({ sku: 'bolt', stock: 3 });
    await client.close();
  });

  it('refuses a per-call { retries: 3 } and says how retries are configured', async () => {
    const client = new ServiceClient({ baseUrl: BASE });
    for (const call of [
      () => client.get('/x', { retries: 3 } as ServiceRequestConfig),
      () => client.post('/x', {}, { retries: 3 } as ServiceRequestConfig),
      () => client.request('get', '/x', { retries: 3 } as ServiceRequestConfig),
    ]) {
      const err = await failure(call);
      expect(err).toMatchObject({
        code: 'ERR_INVALID_OPTIONS',
        option: 'retries',
        suggestion: 'retry.maxAttempts',
      });
      expect(err.message).toContain('retry: { maxAttempts: 3 }');
    }
    await client.close();
  });

  it('suggests the key meant for near misses', async () => {
    const client = new ServiceClient({ baseUrl: BASE });
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ param: {} }, 'params'],
      [{ header: {} }, 'headers'],
      [{ query: {} }, 'params'],
      [{ body: {} }, 'data'],
      [{ timeoutMs: 5 }, 'attemptTimeoutMs'],
      [{ deadline: 5 }, 'deadlineMs'],
      [{ idempotencykey: 'k' }, 'idempotencyKey'],
      [{ validatestatus: null }, 'validateStatus'],
    ];
    for (const [config, suggestion] of cases) {
      const err = await failure(() => client.get('/x', config as ServiceRequestConfig));
      expect(err.suggestion, JSON.stringify(config)).toBe(suggestion);
    }
    await client.close();
  });

  it('refuses a bare number where the config goes, naming deadlineMs', async () => {
    const client = new ServiceClient({ baseUrl: BASE });
    for (const call of [
      () => client.get('/x', 5_000 as unknown as ServiceRequestConfig),
      () => client.post('/x', {}, 5_000 as unknown as ServiceRequestConfig),
      () => client.request('get', '/x', 5_000 as unknown as ServiceRequestConfig),
    ]) {
      const err = await failure(call);
      expect(err).toMatchObject({ code: 'ERR_INVALID_OPTIONS', option: 'deadlineMs' });
      expect(err.message).toContain('{ deadlineMs: <milliseconds> }');
    }
    for (const junk of ['x', true, [], new Map(), null]) {
      const err = await failure(() => client.get('/x', junk as unknown as ServiceRequestConfig));
      expect(err.code).toBe('ERR_INVALID_OPTIONS');
    }
    await client.close();
  });

  it('refuses keys the call itself decides, instead of overriding them silently', async () => {
    const client = new ServiceClient({ baseUrl: BASE });
    expect((await failure(() => client.get('/x', { url: '/y' }))).option).toBe('url');
    expect((await failure(() => client.get('/x', { method: 'POST' }))).option).toBe('method');
    expect((await failure(() => client.get('/x', { baseURL: 'http://b.test' }))).option).toBe('baseURL');
    expect((await failure(() => client.request({ url: '/x', baseURL: 'http://b.test' }))).option).toBe(
      'baseURL',
    );
    expect((await failure(() => client.request('get', '/x', { url: '/y' }))).option).toBe('url');
    expect((await failure(() => client.post('/x', { a: 1 }, { data: { b: 2 } }))).option).toBe('data');
    expect((await failure(() => client.get('/x', { signal: {} as AbortSignal }))).option).toBe('signal');
    expect(
      (await failure(() => client.get('/x', { validateStatus: 200 as unknown as () => boolean }))).option,
    ).toBe('validateStatus');
    await client.close();
  });

  it('accepts every axios request-config key and its own, Symbol keys, and the keys named in requestConfigKeys', async () => {
    nock(BASE).get('/x').query({ a: '1' }).times(3).reply(200, { ok: true });
    const flag = Symbol('interceptor flag');
    const client = new ServiceClient({ baseUrl: BASE }, { requestConfigKeys: ['axios-retry'] });
    expect(
      await client.get('/x', {
        params: { a: 1 },
        headers: { 'x-a': '1' },
        timeout: 5_000,
        responseType: 'json',
        decompress: true,
        maxContentLength: 10_000,
        idempotencyKey: 'k',
        deadlineMs: 5_000,
        attemptTimeoutMs: 4_000,
        deadlineAt: Date.now() + 5_000,
        [flag]: true,
      } as ServiceRequestConfig),
    ).toEqual({ ok: true });
    expect(
      await client.get('/x', { params: { a: 1 }, 'axios-retry': { retries: 0 } } as ServiceRequestConfig),
    ).toEqual({
      ok: true,
    });
    const other = new ServiceClient({ baseUrl: BASE });
    const err = await failure(() => other.get('/x', { 'axios-retry': {} } as ServiceRequestConfig));
    expect(err.message).toContain('requestConfigKeys');
    expect(await client.request({ url: '/x', params: { a: 1 }, method: 'get' })).toEqual({ ok: true });
    await client.close();
    await other.close();
  });

  it('validateStatus: null accepts every status, as in axios', async () => {
    nock(BASE).get('/missing').reply(404, { error: 'nope' });
    const client = new ServiceClient({ baseUrl: BASE });
    expect(await client.get('/missing', { validateStatus: null })).toEqual({ error: 'nope' });
    await client.close();
  });

  it('knows every key of the installed axios request config (fails when axios adds one)', () => {
    const require = createRequire(import.meta.url);
    const root = require.resolve('axios/package.json').replace(/package\.json$/, '');
    const dts = readFileSync(`${root}index.d.ts`, 'utf8');
    const body = dts.slice(dts.indexOf('export interface AxiosRequestConfig<'));
    const declared = [...body.slice(0, body.indexOf('\n}\n')).matchAll(/^ {2}(\w+)\??:/gm)].map((m) => m[1]);
    expect(declared.length).toBeGreaterThan(30);
    expect([...AXIOS_REQUEST_CONFIG_KEYS].sort()).toEqual([...new Set(declared)].sort());
  });
});

describe("ServiceClient.request in the design's shape: request(method, path, options)", () => {
  it('sends method and path, the body from options.data, and resolves to response.data', async () => {
    let body: unknown;
    nock(BASE)
      .get('/orders/7')
      .reply(200, { id: 7 })
      .post('/orders', (b) => {
        body = b;
        return true;
      })
      .reply(201, { id: 8 });
    const client = new ServiceClient({ baseUrl: BASE });
    expect(await client.request('get', '/orders/7')).toEqual({ id: 7 });
    expect(await client.request('post', '/orders', { data: { item: 'bolt' } })).toEqual({ id: 8 });
    expect(body).toEqual({ item: 'bolt' });
    await client.close();
  });

  it('refuses what is not a method, with both shapes in the message', async () => {
    const client = new ServiceClient({ baseUrl: BASE });
    for (const method of ['/orders', 'GET /x', '', 'g\u0000et']) {
      const err = await failure(() => client.request(method, '/x'));
      expect(err).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', argument: 'method' });
      expect(err.message).toContain('request(method, path, config)');
    }
    for (const bad of [undefined, 42, null, [], 'get']) {
      const err = await failure(() => client.request(bad as unknown as ServiceRequestConfig));
      expect(isScaleoutError(err), String(bad)).toBe(true);
    }
    await client.close();
  });
});
