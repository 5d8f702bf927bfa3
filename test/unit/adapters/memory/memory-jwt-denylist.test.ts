import { describe, expect, it } from 'vitest';
import { MemoryJwtDenylist, memoryJwtDenylist } from '../../../../src/adapters/memory/memory-jwt-denylist.js';
import { fakeClock } from '../../../helpers/clock.js';

describe('memoryJwtDenylist: time', () => {
  it('forgets a revoked id once its expiry has passed on the clock it was given', async () => {
    const clock = fakeClock();
    const denylist = memoryJwtDenylist({ clock });
    await denylist.add('jti-1', clock.now() + 10_000);
    await denylist.add('jti-gone', clock.now()); // already expired: not kept
    expect(await denylist.has('jti-1')).toBe(true);
    expect(await denylist.has('jti-gone')).toBe(false);
    clock.advance(9_999);
    expect(await denylist.has('jti-1')).toBe(true);
    clock.advance(1);
    expect(await denylist.has('jti-1')).toBe(false);
  });

  it('refuses `now` (its former time source) naming `clock`, and a clock without monotonic()', () => {
    expect(() => new MemoryJwtDenylist({ now: () => 0 } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', option: 'now', suggestion: 'clock' }),
    );
    expect(() => memoryJwtDenylist({ clock: { now: () => 0 } as never })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', option: 'clock' }),
    );
  });

  it('close() is idempotent (the contract requires it); calls after it are ERR_CLOSED', async () => {
    const denylist = memoryJwtDenylist();
    await denylist.add('jti-1', Date.now() + 60_000);
    await Promise.all([denylist.close(), denylist[Symbol.asyncDispose]()]);
    await expect(denylist.has('jti-1')).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await expect(denylist.add('jti-2', Date.now() + 60_000)).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });
});
