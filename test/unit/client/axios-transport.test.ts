/** What the client hands axios: headers, its own instance's defaults, a caller's instance (nock'd upstream). */
import axios from 'axios';
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { ServiceClient } from '../../../src/client/service-client.js';
import { BASE, fast, useNock } from './fixtures.js';

useNock();

describe('AxiosTransport: what axios is given', () => {
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
