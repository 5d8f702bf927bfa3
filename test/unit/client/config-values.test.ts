import { afterEach, describe, expect, it } from 'vitest';
import { checkConfigValues, MAX_CONFIG_ENTRIES, MAX_TRANSFORMS } from '../../../src/client/config-values.js';
import { ServiceClient } from '../../../src/client/service-client.js';

/** An array axios would walk to its length: 2^32 - 1 slots, one of them set. */
function sparse(): unknown[] {
  const a: unknown[] = [];
  a.length = 2 ** 32 - 1;
  a[0] = (x: unknown) => x;
  return a;
}

describe('per-call config values axios walks element by element', () => {
  let client: ServiceClient | undefined;
  afterEach(async () => {
    await client?.close();
  });

  it('a sparse transformResponse/transformRequest array is refused at once, not walked for minutes', async () => {
    client = new ServiceClient({ baseUrl: 'http://127.0.0.1:1' }, { retry: { maxAttempts: 1 } });
    for (const key of ['transformRequest', 'transformResponse']) {
      await expect(client.get('/x', { [key]: sparse() })).rejects.toMatchObject({
        code: 'ERR_INVALID_OPTIONS',
        option: key,
      });
    }
  }, 5_000);

  it('headers and params: objects of bounded size, arrays of bounded length', () => {
    const big = Object.fromEntries(Array.from({ length: MAX_CONFIG_ENTRIES + 1 }, (_, i) => [`h${i}`, 'v']));
    expect(() => checkConfigValues({ headers: big }, 'get()')).toThrow(/at most 1000 entries/);
    expect(() => checkConfigValues({ headers: ['a'] }, 'get()')).toThrow(/must be an object/);
    expect(() => checkConfigValues({ params: { ids: sparse() } }, 'get()')).toThrow(/arrays of at most/);
    expect(() => checkConfigValues({ transformResponse: ['x'] }, 'get()')).toThrow(/array of at most/);
    const many = Array.from({ length: MAX_TRANSFORMS + 1 }, () => (x: unknown) => x);
    expect(() => checkConfigValues({ transformRequest: many }, 'get()')).toThrow(/array of at most/);
  });

  it('ordinary values pass', () => {
    expect(() =>
      checkConfigValues(
        {
          headers: { 'x-request-id': 'r1', accept: ['application/json'] },
          params: new URLSearchParams('a=1'),
          transformResponse: [(x: unknown) => x],
          transformRequest: (x: unknown) => x,
        },
        'get()',
      ),
    ).not.toThrow();
    expect(() => checkConfigValues({ params: { ids: [1, 2, 3] } }, 'get()')).not.toThrow();
  });
});

describe('per-call config: number, boolean and enum keys axios would coerce, ignore or throw on', () => {
  it('refuses wrong types and ranges naming the option (a symbol maxContentLength threw from the socket callback, uncaught)', () => {
    const refused: Array<[string, unknown]> = [
      ['maxContentLength', Symbol('x')],
      ['maxContentLength', '5'],
      ['maxContentLength', Number.NaN],
      ['maxContentLength', -2],
      ['maxContentLength', 1.5],
      ['maxBodyLength', Symbol('x')],
      ['maxRedirects', 'x'],
      ['maxRedirects', -1],
      ['timeout', -5],
      ['timeout', '100'],
      ['timeout', 2 ** 31],
      ['maxRate', {}],
      ['maxRate', [1, 2, 3]],
      ['maxRate', -1],
      ['decompress', 5],
      ['withCredentials', 'yes'],
      ['responseType', 5],
      ['responseType', 'xml'],
      ['responseEncoding', 7],
      ['sensitiveHeaders', 'x-api-key'],
      ['sensitiveHeaders', ['x-api-key', 5]],
    ];
    for (const [key, value] of refused) {
      expect(() => checkConfigValues({ [key]: value }, 'get()'), `${key}: ${String(value)}`).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', option: key }),
      );
    }
  });

  it('accepts what axios documents', () => {
    const accepted: Array<[string, unknown]> = [
      ['maxContentLength', -1],
      ['maxContentLength', 0],
      ['maxContentLength', 10_000],
      ['maxContentLength', Number.POSITIVE_INFINITY],
      ['maxBodyLength', -1],
      ['maxRedirects', 0],
      ['maxRedirects', 5],
      ['timeout', 0],
      ['timeout', 1_500],
      ['timeout', 2 ** 31 - 1],
      ['maxRate', 100_000],
      ['maxRate', [100_000, 200_000]],
      ['decompress', false],
      ['withCredentials', true],
      ['sensitiveHeaders', ['x-api-key']],
      ['responseType', 'json'],
      ['responseType', 'stream'],
      ['responseEncoding', 'utf8'],
    ];
    for (const [key, value] of accepted) {
      expect(() => checkConfigValues({ [key]: value }, 'get()'), `${key}: ${String(value)}`).not.toThrow();
    }
  });
});
