import { afterEach, describe, expect, it } from 'vitest';
import { memoryRegistryAdapter } from '../../../src/adapters/memory/registry.js';
import type { RegistryAdapter, RegistryChange, RegistryRecord } from '../../../src/contracts/registry.js';
import { isScaleoutError } from '../../../src/errors.js';
import { readRegistryRecord } from '../../../src/registry/record-validation.js';
import { ServiceRegistry, type ServiceRegistryEvents } from '../../../src/registry/service-registry.js';
import { until } from '../../helpers/wait.js';

const open: ServiceRegistry[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((r) => r.close()));
});

const GOOD = 'http://127.0.0.1:4001/';

function record(url: string, extra: Record<string, unknown> = {}): RegistryRecord {
  return {
    service: 'svc',
    id: url,
    url,
    weight: 1,
    metadata: {},
    owner: 'someone-else',
    registeredAt: 1,
    ...extra,
  } as RegistryRecord;
}

/** What another process could have written into a shared store, each next to a good record. */
const FOREIGN: Array<[string, RegistryRecord]> = [
  ['javascript: url', record('javascript:alert(1)')],
  ['file: url', record('file:///etc/passwd')],
  ['data: url', record('data:text/plain,hello')],
  ['ftp: url', record('ftp://127.0.0.1/')],
  ['url with credentials', record('http://user:pw@127.0.0.1:4009/')],
  ['another service', record('http://127.0.0.1:4002/', { service: 'other' })],
  ['weight "abc"', record('http://127.0.0.1:4003/', { weight: 'abc' })],
  ['weight NaN', record('http://127.0.0.1:4004/', { weight: Number.NaN })],
  ['weight -1', record('http://127.0.0.1:4005/', { weight: -1 })],
  ['metadata not strings', record('http://127.0.0.1:4006/', { metadata: { zone: 1 } })],
  [
    'metadata pollution',
    record('http://127.0.0.1:4007/', { metadata: JSON.parse('{"__proto__":{"x":"1"}}') }),
  ],
  ['id not the url', record('http://127.0.0.1:4008/', { id: 'http://127.0.0.1:9999/' })],
  ['no owner', record('http://127.0.0.1:4010/', { owner: 5 })],
  ['registeredAt "now"', record('http://127.0.0.1:4011/', { registeredAt: 'now' })],
  ['not an object', 'http://127.0.0.1:4012/' as unknown as RegistryRecord],
];

/**
 * A third-party adapter that does not validate what it reads: it lists the
 * memory adapter's records plus whatever foreign ones it is given, and
 * passes foreign announcements through.
 */
function trusting(foreign: RegistryRecord[]): RegistryAdapter & { announce(change: RegistryChange): void } {
  const inner = memoryRegistryAdapter();
  const listeners = new Set<(change: RegistryChange) => void>();
  return {
    register: (...a) => inner.register(...a),
    heartbeat: (...a) => inner.heartbeat(...a),
    deregister: (...a) => inner.deregister(...a),
    async list(service) {
      const result = await inner.list(service);
      return {
        now: result.now,
        instances: [
          ...result.instances,
          ...foreign.map((r) => ({ record: r, expiresAt: result.now + 60_000 })),
        ],
      };
    },
    async subscribe(service, listener) {
      listeners.add(listener);
      const subscription = await inner.subscribe(service, listener);
      return {
        unsubscribe: async () => {
          listeners.delete(listener);
          await subscription.unsubscribe();
        },
      };
    },
    close: () => inner.close(),
    announce(change) {
      for (const l of listeners) l(change);
    },
  };
}

describe('the registry validates what it reads as register validates its input', () => {
  it('one validator: each foreign record is refused with the reason register gives for the same field', () => {
    for (const [label, r] of FOREIGN) {
      let caught: unknown;
      try {
        readRegistryRecord(r, 'svc', 'the-key');
      } catch (err) {
        caught = err;
      }
      expect(isScaleoutError(caught, 'ERR_CORRUPT_DATA'), label).toBe(true);
      expect((caught as { key?: string }).key, label).toBe('the-key');
      // The value itself never appears in the message.
      expect((caught as Error).message, label).not.toMatch(/alert|passwd|hello|user:pw/);
    }
    expect(readRegistryRecord(record(GOOD, { extra: 'from a newer version' }), 'svc', 'k')).toEqual(
      record(GOOD),
    );
  });

  it('skips foreign records listed by an adapter that does not check, with a typed error event each; the good instance is served', async () => {
    const adapter = trusting(FOREIGN.map(([, r]) => r));
    const registry = new ServiceRegistry({ adapter });
    open.push(registry);
    const errors: ServiceRegistryEvents['error'][] = [];
    registry.on('error', (e) => errors.push(e));
    await registry.register('svc', GOOD);
    expect((await registry.instances('svc')).map((i) => i.id)).toEqual([GOOD]);
    for (let i = 0; i < 50; i++) expect((await registry.getServiceInstance('svc')).id).toBe(GOOD);
    expect(errors).toHaveLength(FOREIGN.length);
    for (const e of errors) {
      expect(e.operation).toBe('list');
      expect(e.service).toBe('svc');
      expect(isScaleoutError(e.error, 'ERR_CORRUPT_DATA')).toBe(true);
    }
  });

  it('drops foreign announcements (up with a bad record or expiry) with an error event, and keeps serving', async () => {
    const adapter = trusting([]);
    const registry = new ServiceRegistry({ adapter });
    open.push(registry);
    await registry.register('svc', GOOD);
    await registry.watch('svc');
    const errors: ServiceRegistryEvents['error'][] = [];
    registry.on('error', (e) => errors.push(e));
    for (const [, r] of FOREIGN)
      adapter.announce({ type: 'up', service: 'svc', lease: { record: r, expiresAt: Date.now() + 60_000 } });
    adapter.announce({
      type: 'up',
      service: 'svc',
      lease: { record: record('http://127.0.0.1:4020/'), expiresAt: Number.NaN },
    });
    adapter.announce({ type: 'up', service: 'svc', lease: null as never });
    expect(errors).toHaveLength(FOREIGN.length + 2);
    expect(
      errors.every((e) => e.operation === 'announcement' && isScaleoutError(e.error, 'ERR_CORRUPT_DATA')),
    ).toBe(true);
    expect((await registry.instances('svc')).map((i) => i.id)).toEqual([GOOD]);
    expect(registry.pick('svc').id).toBe(GOOD);
  });

  it('the memory adapter refuses a record register would refuse, so it never holds foreign data', async () => {
    const adapter = memoryRegistryAdapter();
    // (A record of another service is a valid record of that service: not foreign to the store.)
    for (const [label, r] of FOREIGN.filter(([label]) => label !== 'another service')) {
      const err = await adapter.register(r, { ttlMs: 60_000 }).catch((e: unknown) => e);
      expect(isScaleoutError(err, 'ERR_INVALID_ARGUMENT'), label).toBe(true);
    }
    const err = await adapter.register(record(GOOD), { ttlMs: 5 }).catch((e: unknown) => e);
    expect(isScaleoutError(err, 'ERR_INVALID_ARGUMENT')).toBe(true);
    expect((await adapter.list('svc')).instances).toEqual([]);
    await adapter.register(record(GOOD), { ttlMs: 60_000 });
    expect((await adapter.list('svc')).instances.map((l) => l.record.id)).toEqual([GOOD]);
    await adapter.close();
  });

  it('a corrupt change from an adapter becomes an error event, and nothing else happens', async () => {
    const adapter = trusting([]);
    const registry = new ServiceRegistry({ adapter });
    open.push(registry);
    await registry.register('svc', GOOD);
    await registry.watch('svc');
    const errors: ServiceRegistryEvents['error'][] = [];
    registry.on('error', (e) => errors.push(e));
    const { CorruptDataError } = await import('../../../src/errors.js');
    adapter.announce({
      type: 'corrupt',
      service: 'svc',
      error: new CorruptDataError('junk', { key: 'chan' }),
    });
    await until('the error event', () => errors.length === 1, 1000, 5);
    expect(errors[0]).toMatchObject({ operation: 'announcement', service: 'svc' });
    expect(registry.pick('svc').id).toBe(GOOD);
  });
});

describe('instance URLs join with a path as the design does', () => {
  it('refuses an empty query or fragment ("http://h/?", "http://h/#"), which URL reports as none', async () => {
    const registry = new ServiceRegistry();
    open.push(registry);
    for (const url of ['http://127.0.0.1:4001/?', 'http://127.0.0.1:4001/#', 'http://127.0.0.1:4001/api?#']) {
      // `${instance}/check` would put the path into the query or the fragment.
      const err = await registry.register('svc', url).catch((e: unknown) => e);
      expect(isScaleoutError(err, 'ERR_INVALID_ARGUMENT'), url).toBe(true);
    }
    await registry.register('svc', 'http://127.0.0.1:4001/api');
    const instance = await registry.getServiceInstance('svc');
    expect(new URL(`${instance}/check`).pathname).toBe('/api/check');
  });
});
