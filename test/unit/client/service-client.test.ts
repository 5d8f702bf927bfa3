import axios, { type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ServiceClient } from '../../../src/client/service-client.js';
import type { AttemptResult, UpstreamInstance, UpstreamSource } from '../../../src/contracts/upstream.js';
import {
  AbortedError,
  CircuitOpenError,
  ClosedError,
  HttpStatusError,
  InvalidOptionsError,
  NoUpstreamError,
  TimeoutError,
} from '../../../src/errors.js';

const BASE = 'http://upstream.test';
const fast = { retry: { backoff: { baseMs: 1, maxMs: 2 } } } as const;

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(() => nock.enableNetConnect());

/** A registry fake: a fixed list, picks the first not excluded, records every report. */
function fakeRegistry(ids: string[]) {
  const started: string[] = [];
  const ended: Array<[string, AttemptResult]> = [];
  const tokens: unknown[] = [];
  const excludes: string[][] = [];
  const registry: UpstreamSource = {
    pick(_service, { exclude }): UpstreamInstance | undefined {
      excludes.push([...exclude]);
      const id = ids.find((i) => !exclude.has(i)) ?? ids[0];
      return id === undefined ? undefined : { id, url: `http://${id}.test` };
    },
    onAttemptStart: (_s, id) => `token-${started.push(id)}`,
    onAttemptEnd: (_s, id, result, token) => {
      ended.push([id, result]);
      tokens.push(token);
    },
  };
  return { registry, started, ended, tokens, excludes };
}

describe('ServiceClient (nock)', () => {
  it('GETs typed data from the base URL and sends the remaining budget downstream', async () => {
    let deadlineHeader: string | undefined;
    nock(BASE)
      .get('/items/1')
      .reply(function () {
        deadlineHeader = this.req.headers['x-request-deadline-ms'] as string;
        return [200, { id: 1, name: 'bolt' }];
      });
    const client = new ServiceClient({ baseUrl: BASE }, { attemptTimeoutMs: 700 });
    const item = await client.get<{ id: number; name: string }>('/items/1');
    expect(item.name).toBe('bolt');
    expect(Number(deadlineHeader)).toBe(700);
    await client.close();
  });

  it('sends the headers axios would: global defaults (common and per method), the deadline, the call own ones winning', async () => {
    const globals = axios.defaults.headers;
    globals.common['X-Team'] = 'checkout';
    globals.post['X-Post-Only'] = 'yes';
    const seen: Array<Record<string, unknown>> = [];
    nock(BASE)
      .get('/h')
      .reply(function () {
        seen.push({ ...this.req.headers });
        return [200, {}];
      })
      .post('/h')
      .reply(function () {
        seen.push({ ...this.req.headers });
        return [200, {}];
      })
      .get('/h')
      .reply(function () {
        seen.push({ ...this.req.headers });
        return [200, {}];
      });
    let client: ServiceClient | undefined;
    try {
      // The client copies axios' defaults when it is created (as axios.create does).
      client = new ServiceClient({ baseUrl: BASE }, { attemptTimeoutMs: 900 });
      await client.get('/h');
      await client.post('/h', { a: 1 });
      await client.get('/h', { headers: { 'x-team': 'payments', accept: 'text/plain' } });
    } finally {
      delete globals.common['X-Team'];
      delete globals.post['X-Post-Only'];
      await client?.close();
    }
    const [get, post, own] = seen;
    expect(get).toMatchObject({
      accept: 'application/json, text/plain, */*',
      'x-team': 'checkout',
      'x-request-deadline-ms': '900',
    });
    expect(get).not.toHaveProperty('x-post-only');
    expect(post).toMatchObject({
      'x-team': 'checkout',
      'x-post-only': 'yes',
      'content-type': 'application/json',
    });
    expect(own).toMatchObject({ 'x-team': 'payments', accept: 'text/plain' });
  });

  it('put / patch / delete / request send their method and body', async () => {
    nock(BASE)
      .put('/a', { x: 1 })
      .reply(200, { m: 'put' })
      .patch('/a', { y: 2 })
      .reply(200, { m: 'patch' })
      .delete('/a')
      .reply(200, { m: 'delete' })
      .options('/a')
      .reply(200, { m: 'options' });
    const client = new ServiceClient({ baseUrl: BASE });
    expect(await client.put('/a', { x: 1 })).toEqual({ m: 'put' });
    expect(await client.patch('/a', { y: 2 })).toEqual({ m: 'patch' });
    expect(await client.delete('/a')).toEqual({ m: 'delete' });
    expect(await client.request({ method: 'OPTIONS', url: '/a' })).toEqual({ m: 'options' });
    await client.close();
  });

  it('retries an idempotent GET on 503 and returns the success', async () => {
    nock(BASE).get('/r').reply(503).get('/r').reply(502).get('/r').reply(200, { ok: true });
    const client = new ServiceClient({ baseUrl: BASE }, fast);
    const retries: number[] = [];
    client.on('retry', (e) => retries.push(e.attempt));
    expect(await client.get('/r')).toEqual({ ok: true });
    expect(retries).toEqual([2, 3]);
    await client.close();
  });

  it('does not retry 500 or 404; throws HttpStatusError with the response', async () => {
    nock(BASE).get('/missing').reply(404, { error: 'nope' }, { 'x-trace': 't1' }).get('/broken').reply(500);
    const client = new ServiceClient({ baseUrl: BASE }, fast);
    const err = (await client.get('/missing').catch((e: unknown) => e)) as HttpStatusError;
    expect(err).toBeInstanceOf(HttpStatusError);
    expect(err.status).toBe(404);
    expect(err.response.data).toEqual({ error: 'nope' });
    expect(err.response.headers['x-trace']).toBe('t1');
    expect(err.url).toBe(`${BASE}/missing`);
    await expect(client.get('/broken')).rejects.toMatchObject({ code: 'ERR_HTTP_STATUS', status: 500 });
    expect(nock.isDone()).toBe(true);
    await client.close();
  });

  it('never retries a POST without an idempotency key on 503', async () => {
    nock(BASE).post('/pay').reply(503);
    const client = new ServiceClient({ baseUrl: BASE }, fast);
    await expect(client.post('/pay', { amount: 5 })).rejects.toMatchObject({ status: 503 });
    expect(nock.isDone()).toBe(true);
    await client.close();
  });

  it('retries a POST with an idempotency key, sending Idempotency-Key on every attempt', async () => {
    const keys: string[] = [];
    const record = function (this: nock.ReplyFnContext) {
      keys.push(this.req.headers['idempotency-key'] as string);
    };
    nock(BASE)
      .post('/pay')
      .reply(function () {
        record.call(this);
        return [503, ''];
      })
      .post('/pay')
      .reply(function () {
        record.call(this);
        return [200, { paid: true }];
      });
    const client = new ServiceClient({ baseUrl: BASE }, fast);
    expect(await client.post('/pay', { amount: 5 }, { idempotencyKey: 'order-7' })).toEqual({ paid: true });
    expect(keys).toEqual(['order-7', 'order-7']);
    await client.close();
  });

  it('honours Retry-After, and gives up at once when it would pass the deadline', async () => {
    nock(BASE).get('/busy').reply(429, '', { 'retry-after': '0' }).get('/busy').reply(200, 'ok');
    const client = new ServiceClient({ baseUrl: BASE }, fast);
    await expect(client.get('/busy')).resolves.toBe('ok');
    nock(BASE).get('/busy').reply(503, '', { 'retry-after': '30' });
    const started = Date.now();
    await expect(client.get('/busy', { deadlineMs: 2_000 })).rejects.toMatchObject({ status: 503 });
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(nock.isDone()).toBe(true);
    await client.close();
  });

  it('fails fast with TimeoutError when the deadline has already passed, sending nothing', async () => {
    const scope = nock(BASE).get('/late').reply(200);
    const client = new ServiceClient({ baseUrl: BASE });
    const err = await client.get('/late', { deadlineAt: Date.now() - 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(scope.isDone()).toBe(false);
    await client.close();
  });

  it('rejects with AbortedError when the caller aborts, and does not retry', async () => {
    nock(BASE).get('/slow').delay(2_000).reply(200);
    const client = new ServiceClient({ baseUrl: BASE });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 20);
    await expect(client.get('/slow', { signal: ac.signal })).rejects.toBeInstanceOf(AbortedError);
    await client.close();
  });

  it('ends a timed-out or cancelled attempt before axios tears the request down, then tears it down', async () => {
    const order: string[] = [];
    // An adapter whose request never answers and whose abort handling is slow
    // (a socket close on a machine waking from idle): the caller must not wait for it.
    const adapter = (config: InternalAxiosRequestConfig) =>
      new Promise<AxiosResponse>((_resolve, reject) => {
        config.signal?.addEventListener?.('abort', () => {
          order.push('teardown');
          reject(new axios.CanceledError());
        });
      });
    const client = new ServiceClient(
      { baseUrl: BASE },
      { axios: axios.create({ adapter }), attemptTimeoutMs: 30, retry: { maxAttempts: 1 } },
    );
    const timedOut = await client.get('/hang').catch((e: unknown) => {
      order.push('call rejected');
      return e;
    });
    expect(timedOut).toBeInstanceOf(TimeoutError);
    const ac = new AbortController();
    const cancelled = client.get('/hang', { signal: ac.signal }).catch((e: unknown) => {
      order.push('call rejected');
      return e;
    });
    setTimeout(() => ac.abort(), 10);
    expect(await cancelled).toBeInstanceOf(AbortedError);
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['call rejected', 'teardown', 'call rejected', 'teardown']);
    await client.close();
  });

  it('sends each retry to another instance and reports every attempt to the registry', async () => {
    nock('http://a.test').get('/x').reply(503);
    nock('http://b.test').get('/x').reply(200, 'from b');
    const { registry, started, ended, tokens, excludes } = fakeRegistry(['a', 'b']);
    const client = new ServiceClient({ service: 'stock', registry }, fast);
    expect(await client.get('/x')).toBe('from b');
    expect(started).toEqual(['a', 'b']);
    // Each end receives what its own start returned.
    expect(tokens).toEqual(['token-1', 'token-2']);
    expect(ended.map(([id, r]) => [id, r.outcome, r.status])).toEqual([
      ['a', 'server-error', 503],
      ['b', 'success', 200],
    ]);
    expect(excludes).toEqual([[], ['a']]);
    await client.close();
  });

  it('skips an instance whose circuit is open; CircuitOpenError when all are', async () => {
    nock('http://a.test').get('/x').times(2).reply(503);
    nock('http://b.test').get('/x').reply(200, 'b');
    const { registry } = fakeRegistry(['a', 'b']);
    const client = new ServiceClient(
      { service: 'stock', registry },
      { ...fast, retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 2 } },
    );
    const changes: string[] = [];
    client.on('breaker-state-change', (e) => changes.push(`${e.instanceId}:${e.to}`));
    await expect(client.get('/x')).rejects.toMatchObject({ status: 503 });
    await expect(client.get('/x')).rejects.toMatchObject({ status: 503 });
    expect(changes).toEqual(['a:open']);
    expect(client.breakerState('a')).toBe('open');
    expect(await client.get('/x')).toBe('b'); // a is skipped
    const single = new ServiceClient(
      { baseUrl: BASE },
      { retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 1 } },
    );
    nock(BASE).get('/y').reply(502);
    await expect(single.get('/y')).rejects.toBeInstanceOf(HttpStatusError);
    await expect(single.get('/y')).rejects.toBeInstanceOf(CircuitOpenError);
    await client.close();
    await single.close();
  });

  it('throws NoUpstreamError when the registry has no instance', async () => {
    const client = new ServiceClient({ service: 'ghost', registry: fakeRegistry([]).registry });
    await expect(client.get('/x')).rejects.toBeInstanceOf(NoUpstreamError);
    await client.close();
  });

  it('validates options and refuses calls after close', async () => {
    expect(() => new ServiceClient({ baseUrl: 'not a url' })).toThrow(InvalidOptionsError);
    expect(() => new ServiceClient({ baseUrl: 'ftp://x' })).toThrow(InvalidOptionsError);
    expect(() => new ServiceClient({ service: '', registry: fakeRegistry([]).registry })).toThrow(
      InvalidOptionsError,
    );
    expect(() => new ServiceClient({ service: 's', registry: {} as UpstreamSource })).toThrow(
      InvalidOptionsError,
    );
    expect(() => new ServiceClient({ baseUrl: BASE }, { deadlineMs: 0 })).toThrow(InvalidOptionsError);
    expect(() => new ServiceClient({ baseUrl: BASE }, { retry: { maxAttempts: 0 } })).toThrow(
      InvalidOptionsError,
    );
    expect(() => new ServiceClient({ baseUrl: BASE }, { retry: { retryOnStatus: [99] } })).toThrow(
      InvalidOptionsError,
    );
    expect(() => new ServiceClient({ baseUrl: BASE }, { breaker: { halfOpenProbes: 0 } })).toThrow(
      InvalidOptionsError,
    );
    const client = new ServiceClient({ baseUrl: 'http://user:secret@upstream.test' });
    expect(client.service).not.toContain('secret');
    await client.close();
    await expect(client.get('/x')).rejects.toBeInstanceOf(ClosedError);
  });
});

describe('ServiceClient with a registry that throws', () => {
  it('a throwing onAttemptStart/onAttemptEnd is logged, never breaks the call or leaks a slot', async () => {
    nock('http://a.test').get('/x').times(3).reply(200, 'ok');
    const errors: string[] = [];
    const registry: UpstreamSource = {
      pick: () => ({ id: 'a', url: 'http://a.test' }),
      onAttemptStart: () => {
        throw new Error('start boom');
      },
      onAttemptEnd: () => {
        throw new Error('end boom');
      },
    };
    const client = new ServiceClient(
      { service: 's', registry },
      { bulkhead: { maxConcurrent: 1, maxQueue: 0 }, logger: { error: (m) => errors.push(m) } },
    );
    for (let i = 0; i < 3; i++) expect(await client.get('/x')).toBe('ok');
    expect(errors).toHaveLength(6);
    await client.close();
  });
});

describe('ServiceClient: a request axios refuses', () => {
  it('throws InvalidArgumentError without echoing headers, and sends nothing', async () => {
    const client = new ServiceClient({ baseUrl: BASE });
    const err = await client
      .get('/x', {
        headers: { authorization: 'Bearer s3cr3t' },
        maxContentLength: 'no' as unknown as number,
        responseType: 'nope' as 'json',
        adapter: 'no-such-adapter' as 'http',
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    expect(JSON.stringify(err)).not.toContain('s3cr3t');
    await client.close();
  });
});

describe('ServiceClient on an existing axios instance', () => {
  it('runs the instance interceptors on every attempt and keeps its defaults', async () => {
    nock(BASE)
      .get('/x')
      .reply(503)
      .get('/x')
      .reply(function () {
        return [200, { tenant: this.req.headers['x-tenant'] }];
      });
    const instance = axios.create({ headers: { 'x-tenant': 'acme' } });
    let seen = 0;
    instance.interceptors.request.use((config) => {
      seen++;
      return config;
    });
    const client = new ServiceClient({ baseUrl: BASE }, { axios: instance, ...fast });
    expect(await client.get('/x')).toEqual({ tenant: 'acme' });
    expect(seen).toBe(2);
    await client.close();
  });
});
