/** The facade: its verbs, options and lifecycle (nock'd upstream). */
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { ServiceClient } from '../../../src/client/service-client.js';
import type { UpstreamSource } from '../../../src/contracts/upstream.js';
import { ClosedError, InvalidOptionsError } from '../../../src/errors.js';
import { BASE, fakeRegistry, useNock } from './fixtures.js';

useNock();

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
