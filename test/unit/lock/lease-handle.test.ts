// The lease objects a lock hands out (src/lock/lease-handle.ts): they cannot be forged.
import { describe, expect, it } from 'vitest';
import { MemoryLockAdapter } from '../../../src/adapters/memory/memory-lock-adapter.js';
import { DistributedLock, type Lease } from '../../../src/lock/index.js';
import { expectNoUnhandledRejections } from './lock-test-kit.js';

expectNoUnhandledRejections();

describe('DistributedLock: lease handles', () => {
  it('refuses forged leases and leases of another lock, and never frees their hold', async () => {
    const adapter = new MemoryLockAdapter();
    const a = new DistributedLock({ adapter });
    const b = new DistributedLock({ adapter });
    const lease = await a.acquire('r');
    const forged = { ...lease } as Lease;
    await expect(a.release(forged)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(b.release(lease)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(a.release(null as unknown as Lease)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(b.extend(lease)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    expect(await b.tryAcquire('r')).toBeNull();
    expect(await lease.release()).toBe(true);
    await a.close();
    await b.close();
  });
});
