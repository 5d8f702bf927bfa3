/** What the client's unit tests share: a nock'd base URL, fast retries, a registry fake. */
import nock from 'nock';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { AttemptResult, UpstreamInstance, UpstreamSource } from '../../../src/contracts/upstream.js';

export const BASE = 'http://upstream.test';
export const fast = { retry: { backoff: { baseMs: 1, maxMs: 2 } } } as const;

/** No real network in this file: nock answers, and unmatched requests fail. */
export function useNock(): void {
  beforeAll(() => nock.disableNetConnect());
  afterEach(() => nock.cleanAll());
  afterAll(() => nock.enableNetConnect());
}

/** A registry fake: a fixed list, picks the first not excluded, records every report. */
export function fakeRegistry(ids: string[]) {
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
