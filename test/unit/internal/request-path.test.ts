import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { requestPath } from '../../../src/internal/request-path.js';

describe('requestPath', () => {
  it('gives the path of each form of request target, never a query, fragment, credentials or host', () => {
    const cases: Array<[string, string]> = [
      ['/', '/'],
      ['/orders', '/orders'],
      ['/orders?id=1&token=x', '/orders'],
      ['/orders#top', '/orders'],
      ['/a#b?c', '/a'],
      ['/a?b#c', '/a'],
      ['//a:b@h/p', '//a:b@h/p'], // origin-form: a path that starts with two slashes
      ['http://admin:hunter2@127.0.0.1:8080/orders?token=abc', '/orders'],
      ['HTTP://A:B@h/p/q?x', '/p/q'],
      ['https://h', '/'],
      ['http://a:b@h?x=1', '/'],
      ['http://a:b@h#f', '/'],
      ['http://h/a://b', '/a://b'],
      ['*', '*'],
      ['', ''],
    ];
    for (const [target, path] of cases) expect(requestPath(target), target).toBe(path);
  });

  it('never returns text from before the path of an absolute URL', () => {
    fc.assert(
      fc.property(fc.webUrl({ withQueryParameters: true, withFragments: true }), (url) => {
        // What follows the scheme and authority, up to a query or fragment ('/' when nothing).
        const authority = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(url)![0];
        const expected = url.slice(authority.length).split(/[?#]/)[0] || '/';
        expect(requestPath(url)).toBe(expected);
        expect(expected.startsWith('/')).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
