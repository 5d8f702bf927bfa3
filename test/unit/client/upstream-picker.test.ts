/** The instance of each attempt and its circuit breaker (nock'd upstream, a registry fake). */
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { ServiceClient } from '../../../src/client/service-client.js';
import { CircuitOpenError, HttpStatusError, NoUpstreamError } from '../../../src/errors.js';
import { BASE, fakeRegistry, fast, useNock } from './fixtures.js';

useNock();

describe('UpstreamPicker: the instance of each attempt', () => {
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
});
