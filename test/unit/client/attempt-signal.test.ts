import { describe, expect, it } from 'vitest';
import { AttemptSignal } from '../../../src/client/attempt-signal.js';
import { Bulkhead } from '../../../src/resilience/bulkhead.js';

describe('AttemptSignal', () => {
  it('calls each listener once with the signal as this, skips removed ones, survives a throwing one', () => {
    const s = new AttemptSignal();
    const calls: string[] = [];
    const removed = () => calls.push('removed');
    s.addEventListener('abort', () => {
      throw new Error('listener bug');
    });
    s.addEventListener('abort', function (this: AttemptSignal, e) {
      calls.push(`${e.type}:${this.reason}`);
    });
    s.addEventListener('abort', removed);
    s.removeEventListener('abort', removed);
    s.onabort = () => calls.push('onabort');
    s.abort('why');
    s.abort('again');
    expect(calls).toEqual(['abort:why', 'onabort']);
    expect(s.aborted).toBe(true);
    expect(s.reason).toBe('why');
  });

  it('keeps one listener or many through adds and removes in any order, and ignores adds after abort', () => {
    const calls: string[] = [];
    const listener = (name: string) => () => {
      calls.push(name);
    };
    const [a, b, c, d] = [listener('a'), listener('b'), listener('c'), listener('d')];

    const only = new AttemptSignal();
    only.addEventListener('abort', a);
    only.removeEventListener('abort', a);
    only.addEventListener('abort', b);
    only.abort('x');
    expect(calls).toEqual(['b']);

    calls.length = 0;
    const many = new AttemptSignal();
    many.addEventListener('abort', a);
    many.addEventListener('abort', b);
    many.removeEventListener('abort', a);
    many.addEventListener('abort', c);
    many.removeEventListener('abort', d); // never added: a no-op
    many.abort('x');
    many.addEventListener('abort', d); // after abort: never called, like an AbortSignal
    many.abort('again');
    expect(calls).toEqual(['b', 'c']);
  });

  it('cancels a bulkhead wait like a real AbortSignal', async () => {
    const b = new Bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const release = await b.acquire();
    const s = new AttemptSignal();
    const waiting = b.acquire(s.asAbortSignal());
    s.abort(new Error('timeout'));
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    expect(b.queued).toBe(0);
    release();
  });
});
