import { describe, expect, it } from 'vitest';
import { memoryRegistryAdapter } from '../../../src/adapters/memory/registry.js';
import { redisRegistryAdapter } from '../../../src/adapters/redis/registry.js';
import type { RegistryAdapter } from '../../../src/contracts/registry.js';
import type { ServiceRegistryEvents } from '../../../src/registry/registry-events.js';
import { ServiceRegistry } from '../../../src/registry/service-registry.js';
import { adapterKinds } from '../../helpers/adapter-kinds.js';
import { sleep, until } from '../../helpers/wait.js';

const adapters = adapterKinds<RegistryAdapter>('registry-shared', {
  memory: () => memoryRegistryAdapter(),
  redis: (url, prefix) => redisRegistryAdapter({ connection: url, prefix }),
});

describe.each(adapters.kinds)('two registries sharing one %s adapter', (kind) => {
  it.each(['first', 'second'])(
    'closing the %s leaves the other working: its heartbeats, its view, its events, the adapter',
    async (which) => {
      const adapter = adapters.open(kind);
      const first = new ServiceRegistry({ adapter, heartbeatIntervalMs: 50 });
      const second = new ServiceRegistry({ adapter, heartbeatIntervalMs: 50 });
      adapters.afterTest(
        () => first.close(),
        () => second.close(),
      );
      await first.register('svc', 'http://127.0.0.1:4001', { ttlMs: 300 });
      await second.register('svc', 'http://127.0.0.1:4002', { ttlMs: 300 });
      await first.watch('svc');
      await second.watch('svc');
      const [closing, staying] = which === 'first' ? [first, second] : [second, first];
      const stayingUrl = staying === first ? 'http://127.0.0.1:4001' : 'http://127.0.0.1:4002';
      const changes: ServiceRegistryEvents['change'][] = [];
      staying.on('change', (c) => changes.push(c));

      await closing.close();

      // The closing registry deregistered its own instance; the other one heard it.
      await until('the closed registry’s instance to leave the other view', () =>
        changes.some((c) => c.type === 'down' && c.reason === 'deregistered'),
      );
      // The adapter is still open: a third registry on it registers, and the other view hears it.
      const third = new ServiceRegistry({ adapter });
      adapters.afterTest(() => third.close());
      await third.register('svc', 'http://127.0.0.1:4003', { ttlMs: 60_000 });
      await until('the new registration in the other view', () =>
        changes.some((c) => c.type === 'up' && c.instance.url === 'http://127.0.0.1:4003'),
      );
      // Its heartbeats keep its 300 ms lease alive well past the lease.
      await sleep(700);
      const listed = (await adapter.list('svc')).instances.map((i) => i.record.id).sort();
      expect(listed).toEqual([`${stayingUrl}/`, 'http://127.0.0.1:4003/']);
      const picked = new Set(Array.from({ length: 40 }, () => staying.pick('svc').url));
      expect(picked).toEqual(new Set([stayingUrl, 'http://127.0.0.1:4003']));
      expect(changes.some((c) => c.type === 'down' && c.instance.url === stayingUrl)).toBe(false);
    },
  );
});
