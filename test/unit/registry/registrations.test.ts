import { describe, expect, it } from 'vitest';
import { MemoryRegistryAdapter } from '../../../src/adapters/memory/registry.js';
import type { ServiceRegistryEvents } from '../../../src/registry/registry-events.js';
import { make, until } from './helpers.js';

describe("this process's registrations", () => {
  it('re-registers a lease the store lost, and gives up one another process took', async () => {
    const adapter = new MemoryRegistryAdapter();
    const a = make({ adapter, heartbeatIntervalMs: 50 });
    const leases: ServiceRegistryEvents['lease'][] = [];
    a.on('lease', (e) => leases.push(e));
    await a.register('svc', 'http://127.0.0.1:4001', { ttlMs: 1000 });
    const { instances } = await adapter.list('svc');
    await adapter.deregister('svc', instances[0]!.record.id, instances[0]!.record.owner); // store forgets it
    await until('the first lease event', () => leases.length === 1);
    expect(leases[0]!.status).toBe('renewed');
    expect((await adapter.list('svc')).instances).toHaveLength(1);
    const b = make({ adapter });
    await b.register('svc', 'http://127.0.0.1:4001', { ttlMs: 1000 }); // the instance restarted elsewhere
    await until('the second lease event', () => leases.length === 2);
    expect(leases[1]!.status).toBe('taken');
    // a no longer owns it: deregistering through a does nothing (false), b's record is intact.
    expect(await a.deregister('svc', 'http://127.0.0.1:4001')).toBe(false);
    expect((await adapter.list('svc')).instances[0]!.record.owner).not.toBe(instances[0]!.record.owner);
  });
});
