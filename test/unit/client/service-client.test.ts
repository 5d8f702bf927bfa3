/** The facade: its verbs, options and lifecycle (nock'd upstream). */
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { ServiceClient } from '../../../src/client/service-client.js';
import type { UpstreamSource } from '../../../src/contracts/upstream.js';
import { ClosedError, InvalidArgumentError, InvalidOptionsError } from '../../../src/errors.js';
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

describe('ServiceClient lifecycle', () => {
  it('close() runs once: every call gets the same promise; [Symbol.asyncDispose] is close()', async () => {
    const client = new ServiceClient({ baseUrl: BASE });
    const first = client.close();
    expect(client.close()).toBe(first);
    expect(client[Symbol.asyncDispose]()).toBe(first);
    await first;
    await expect(client.get('/x')).rejects.toMatchObject({
      code: 'ERR_CLOSED',
      message: 'ServiceClient is closed',
    });
  });

  it('await using closes the client at the end of the block', async () => {
    let kept: ServiceClient | undefined;
    {
      await using client = new ServiceClient({ baseUrl: BASE });
      kept = client;
    }
    await expect(kept.get('/x')).rejects.toBeInstanceOf(ClosedError);
  });
});

describe('ServiceClient events: on / off, kebab-case names', () => {
  it('off removes a listener; the camelCase names of earlier versions subscribe to the same events', async () => {
    nock(BASE).get('/x').times(2).reply(502);
    const client = new ServiceClient(
      { baseUrl: BASE },
      { retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 2 } },
    );
    const seen: string[] = [];
    const kebab = (e: { to: string }) => seen.push(`kebab:${e.to}`);
    const camel = (e: { to: string }) => seen.push(`camel:${e.to}`);
    const removed = () => seen.push('removed');
    client.on('breaker-state-change', kebab);
    client.on('breakerStateChange', camel);
    client.on('attempt', removed);
    client.off('attempt', removed);
    const stop = client.on('attempt', removed);
    stop();
    await expect(client.get('/x')).rejects.toMatchObject({ status: 502 });
    await expect(client.get('/x')).rejects.toMatchObject({ status: 502 });
    expect(seen).toEqual(['kebab:open', 'camel:open']);
    client.off('breakerStateChange', camel);
    client.off('breaker-state-change', kebab);
    expect(() => client.on('breaker_state_change' as never, kebab)).toThrow(InvalidArgumentError);
    await client.close();
  });
});
