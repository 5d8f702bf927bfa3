import { describe, expect, it } from 'vitest';
import { answerProbe } from '../../../src/lifecycle/probe-responder.js';

const PATHS = { livePath: '/live', readyPath: '/ready', healthPath: '/health' } as const;

describe('answerProbe', () => {
  it('a health source that resolves junk gets a 503, not a rejection (the request would hang)', async () => {
    const circular: Record<string, unknown> = { ready: true };
    circular.self = circular;
    const junk: unknown[] = [null, 5, { ready: true, n: 1n }, circular, { ready: 'yes', status: 1n }];
    for (const value of junk) {
      for (const path of ['/ready', '/health']) {
        const answer = await answerProbe({ health: async () => value as never }, PATHS, 'GET', path);
        expect(answer?.status).toBe(503);
        expect(JSON.parse(answer!.body)).toEqual({ status: 'unready' });
      }
    }
  });
});
