/** How an attempt ended: the caller's error, and whether a retry follows (nock'd upstream). */
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { ServiceClient } from '../../../src/client/service-client.js';
import { HttpStatusError } from '../../../src/errors.js';
import { BASE, fast, useNock } from './fixtures.js';

useNock();

describe('AttemptOutcomes: how an attempt ended, and whether to retry', () => {
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

  it('throws InvalidArgumentError without echoing headers, and sends nothing', async () => {
    const client = new ServiceClient({ baseUrl: BASE });
    const err = await client
      .get('/x', {
        headers: { authorization: 'Bearer s3cr3t' },
        // axios' own refusal (the scalar keys scaleout checks first are in config-values.test.ts).
        adapter: 'no-such-adapter' as 'http',
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    expect(JSON.stringify(err)).not.toContain('s3cr3t');
    // The same call with a bad maxContentLength and responseType is refused before axios, typed, not echoing headers.
    const early = await client
      .get('/x', {
        headers: { authorization: 'Bearer s3cr3t' },
        maxContentLength: 'no' as unknown as number,
        responseType: 'nope' as 'json',
      })
      .catch((e: unknown) => e);
    expect(early).toMatchObject({ code: 'ERR_INVALID_OPTIONS' });
    expect(JSON.stringify(early)).not.toContain('s3cr3t');
    expect(String((early as Error).message)).not.toContain('s3cr3t');
    await client.close();
  });
});
