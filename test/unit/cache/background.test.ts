import { describe, expect, it } from 'vitest';
import { BackgroundWork } from '../../../src/cache/background.js';

describe('BackgroundWork', () => {
  it('settle() waits for tracked work, work started meanwhile and failures included', async () => {
    const work = new BackgroundWork();
    const done: string[] = [];
    work.track(
      new Promise<void>((resolve) =>
        setTimeout(() => {
          done.push('first');
          // started while settle() already waits
          work.track(
            new Promise<void>((r) =>
              setTimeout(() => {
                done.push('second');
                r();
              }, 10),
            ),
          );
          resolve();
        }, 10),
      ),
    );
    const failed = Promise.reject(new Error('boom'));
    failed.catch(() => {});
    work.track(failed);
    await work.settle();
    expect(done).toEqual(['first', 'second']);
  });
});
