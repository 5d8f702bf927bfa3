/** Readiness from the primitives' own state. */
import { describe, expect, it } from 'vitest';
import {
  DistributedCache,
  DistributedLock,
  MessageQueue,
  memoryQueueAdapter,
  memorySessionAdapter,
  ServiceLifecycle,
  ServiceRegistry,
  SessionStore,
} from '../../../src/index.js';
import { primitiveCheck } from '../../../src/lifecycle/primitive-checks.js';
import { fakeClock } from '../../helpers/clock.js';

const signal = new AbortController().signal;

describe('primitiveCheck', () => {
  it('passes for healthy primitives and shows their state', async () => {
    const cache = new DistributedCache();
    const registry = new ServiceRegistry();
    const queue = new MessageQueue();
    const locks = new DistributedLock();
    const sessions = new SessionStore();
    try {
      expect(await primitiveCheck(cache)!({ signal })).toEqual({ circuit: 'closed', bus: 'subscribed' });
      expect(await primitiveCheck(registry)!({ signal })).toEqual({ leases: 'renewed' });
      expect(await primitiveCheck(queue)!({ signal })).toEqual({ connection: 'connected' });
      expect(await primitiveCheck(locks)!({ signal })).toEqual({ store: 'reachable' });
      expect(await primitiveCheck(sessions)!({ signal })).toEqual({ store: 'reachable' });
      expect(primitiveCheck({ close() {} })).toBeUndefined();
    } finally {
      await Promise.all([cache.close(), registry.close(), queue.close(), locks.close(), sessions.close()]);
    }
  });

  it('fails when the cache circuit is open', async () => {
    const cache = { circuitState: 'open' as const, ready: async () => {}, close: async () => {} };
    await expect(Promise.resolve(primitiveCheck(cache)!({ signal }))).rejects.toThrow(/circuit/);
  });

  it('fails when the cache invalidation bus is disconnected, with the circuit closed', async () => {
    const cache = {
      circuitState: 'closed' as const,
      busState: 'subscribed',
      ready: async () => {},
      close: async () => {},
    };
    const check = primitiveCheck(cache)!;
    expect(await check({ signal })).toEqual({ circuit: 'closed', bus: 'subscribed' });
    cache.busState = 'disconnected';
    await expect(Promise.resolve(check({ signal }))).rejects.toThrow(/bus is disconnected/);
  });

  it('fails while the queue connection is not up, from its state alone', () => {
    const queue = {
      connectionState: 'connected',
      consume() {},
      publish() {},
      on: () => () => {},
      close: async () => {},
    };
    const check = primitiveCheck(queue)!;
    expect(check({ signal })).toEqual({ connection: 'connected' });
    queue.connectionState = 'idle';
    expect(check({ signal })).toEqual({ connection: 'idle' });
    for (const state of ['disconnected', 'connecting', 'closed']) {
      queue.connectionState = state;
      expect(() => check({ signal })).toThrow(`the queue connection is ${state}`);
    }
  });

  it('a memory queue reports connected, then closed (a connection event), and its check fails', async () => {
    const adapter = memoryQueueAdapter();
    const queue = new MessageQueue({ adapter });
    const events: unknown[] = [];
    queue.on('connection', (e) => events.push(e));
    expect(queue.connectionState).toBe('connected');
    await adapter.close();
    expect(events).toEqual([{ state: 'closed', previous: 'connected' }]);
    expect(queue.connectionState).toBe('closed');
    expect(() => primitiveCheck(queue)!({ signal })).toThrow('the queue connection is closed');
    await queue.close();
  });

  it('fails after a registry heartbeat failure or a registration taken over', async () => {
    const listeners = new Map<string, (p: unknown) => void>();
    const registry = {
      on: (event: string, l: (p: unknown) => void) => listeners.set(event, l),
      trackCall() {},
      watch() {},
      register() {},
    };
    const check = primitiveCheck(registry)!;
    expect(await check({ signal })).toEqual({ leases: 'renewed' });
    listeners.get('error')!({ operation: 'list', service: 's', error: new Error('x') });
    expect(await check({ signal })).toEqual({ leases: 'renewed' });
    listeners.get('error')!({ operation: 'heartbeat', service: 's', error: new Error('x') });
    expect(() => check({ signal })).toThrow(/heartbeat/);
  });

  it('measures "recent" on the clock it is given: a failure 5 s old on that clock no longer fails', async () => {
    const clock = fakeClock();
    const listeners = new Map<string, (p: unknown) => void>();
    const on = (event: string, l: (p: unknown) => void) => listeners.set(event, l);
    const registry = { on, trackCall() {}, watch() {}, register() {} };
    const queue = { on, consume() {}, publish() {} };
    const registryCheck = primitiveCheck(registry, clock)!;
    listeners.get('error')!({ operation: 'heartbeat', service: 's', error: new Error('x') });
    const queueCheck = primitiveCheck(queue, clock)!;
    listeners.get('error')!({ error: new Error('x') });
    expect(() => registryCheck({ signal })).toThrow(/heartbeat/);
    expect(() => queueCheck({ signal })).toThrow(/could not be read/);
    clock.advance(4_999);
    expect(() => registryCheck({ signal })).toThrow(/heartbeat/);
    clock.advance(1);
    expect(await registryCheck({ signal })).toEqual({ leases: 'renewed' });
    expect(await queueCheck({ signal })).toEqual({ connection: 'ok' });
  });

  it('fails when the session store cannot be read', async () => {
    const adapter = memorySessionAdapter();
    adapter.get = async () => {
      throw new Error('store down');
    };
    const sessions = new SessionStore({ adapter });
    await expect(Promise.resolve(primitiveCheck(sessions)!({ signal }))).rejects.toMatchObject({
      code: expect.stringMatching(/^ERR_/),
    });
    await sessions.close();
    await adapter.close();
  });

  it('a managed primitive in trouble turns /ready 503 through the lifecycle', async () => {
    const lifecycle = new ServiceLifecycle();
    lifecycle.manage(
      { circuitState: 'open', ready: async () => {}, close: async () => {} },
      { name: 'cache' },
    );
    lifecycle.manage(
      { circuitState: 'closed', ready: async () => {}, close: async () => {} },
      {
        name: 'other cache',
        check: false,
      },
    );
    const report = await lifecycle.health();
    expect(report).toMatchObject({ ready: false, status: 'unready' });
    expect(report.checks.map((c) => c.name)).toEqual(['cache']);
    await lifecycle.close();
  });

  it('numbers the checks of two primitives of the same class managed without a name', async () => {
    const lifecycle = new ServiceLifecycle();
    lifecycle.manage(new DistributedCache());
    lifecycle.manage(new DistributedCache());
    const report = await lifecycle.health();
    expect(report.checks.map((c) => c.name)).toEqual(['DistributedCache', 'DistributedCache #2']);
    await lifecycle.close();
  });
});
