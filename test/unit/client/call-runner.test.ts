/** The attempt/retry loop: deadlines, aborts, attempts ended on time, reports to the registry (nock'd upstream). */
import axios, { type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { ServiceClient } from '../../../src/client/service-client.js';
import type { UpstreamSource } from '../../../src/contracts/upstream.js';
import { AbortedError, TimeoutError } from '../../../src/errors.js';
import { BASE, fakeRegistry, fast, useNock } from './fixtures.js';

useNock();

describe('CallRunner: a call and its attempts', () => {
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
