/** What the lock's unit tests share: a memory adapter that fails on demand, and a check for unhandled rejections. */
import { afterEach, beforeEach, expect } from 'vitest';
import { MemoryLockAdapter } from '../../../src/adapters/memory/memory-lock-adapter.js';
import type { LockAdapter } from '../../../src/contracts/lock.js';

export const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Fails the test file's tests if any promise rejection went unhandled meanwhile. */
export function expectNoUnhandledRejections(): void {
  let unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  beforeEach(() => {
    unhandled = [];
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(async () => {
    // Let stray promise jobs settle before checking.
    await delay(20);
    process.off('unhandledRejection', onUnhandled);
    expect(unhandled).toEqual([]);
  });
}

/** A memory adapter whose operations can be made to fail or hang. */
export class FaultyAdapter extends MemoryLockAdapter {
  failAcquire: Error | undefined;
  hangAcquire = false;
  failExtend: Error | undefined;
  refuseExtend = false;
  releases = 0;
  override acquire(...args: Parameters<LockAdapter['acquire']>) {
    if (this.hangAcquire) return new Promise<never>(() => {});
    if (this.failAcquire) return Promise.reject(this.failAcquire);
    return super.acquire(...args);
  }
  override extend(...args: Parameters<LockAdapter['extend']>) {
    if (this.failExtend) return Promise.reject(this.failExtend);
    if (this.refuseExtend) return Promise.resolve({ extended: false as const });
    return super.extend(...args);
  }
  override release(...args: Parameters<LockAdapter['release']>) {
    this.releases += 1;
    return super.release(...args);
  }
}
