import { afterEach, describe, expect, it } from 'vitest';
import { memoryCacheAdapter } from '../../../src/adapters/memory/index.js';
import { RefreshLock, tryRefreshLock } from '../../../src/cache/refresh-lock.js';
import { CacheState } from '../../../src/cache/state.js';
import type { CacheErrorEvent } from '../../../src/index.js';

const states: CacheState[] = [];
afterEach(async () => {
  await Promise.all(states.splice(0).map((s) => s.close()));
});

function state(adapter = memoryCacheAdapter()): CacheState {
  const s = new CacheState({ adapter, lockTtlMs: 5_000 });
  states.push(s);
  return s;
}

describe('RefreshLock: one loader per key across instances', () => {
  it('one instance takes it; the others are refused until it is released', async () => {
    const adapter = memoryCacheAdapter();
    const a = state(adapter);
    const b = state(adapter);
    const held = await tryRefreshLock(a, 'k');
    expect(held).toBeDefined();
    expect(await tryRefreshLock(b, 'k')).toBeUndefined();
    expect(await tryRefreshLock(a, 'other')).toBeDefined();
    held!.release();
    await a.settle();
    expect(await tryRefreshLock(b, 'k')).toBeDefined();
  });

  it("releases by compare-and-delete: never another holder's lease", async () => {
    const adapter = memoryCacheAdapter();
    const a = state(adapter);
    const mine = new RefreshLock(a, 'k');
    expect(await mine.acquire()).toBe(true);
    // The lease expired and another instance took it: our release must leave it.
    await adapter.delete('l:k');
    const theirs = new RefreshLock(state(adapter), 'k');
    expect(await theirs.acquire()).toBe(true);
    const before = await adapter.get('l:k');
    mine.release();
    await a.settle();
    expect(await adapter.get('l:k')).toBe(before);
  });

  it('tells a lease an instance wrote from a foreign record there, reporting the latter', async () => {
    const adapter = memoryCacheAdapter();
    const s = state(adapter);
    const errors: CacheErrorEvent[] = [];
    s.events.on('error', (e) => errors.push(e));
    const lock = new RefreshLock(s, 'k');
    expect(await lock.isForeign()).toBe(false); // absent
    await new RefreshLock(state(adapter), 'k').acquire();
    expect(await lock.isForeign()).toBe(false); // a token
    await adapter.set('l:k', 'not a token');
    expect(await lock.isForeign()).toBe(true);
    expect(errors.map((e) => `${e.operation}:${(e.error as { code?: string }).code}`)).toEqual([
      'lock:ERR_CORRUPT_DATA',
    ]);
  });
});
