import { describe, expect, it } from 'vitest';
import { MemorySessionAdapter } from '../../../src/adapters/memory/memory-session-adapter.js';
import { InvalidOptionsError } from '../../../src/errors.js';
import { SessionStore } from '../../../src/session/session-store.js';
import { sessionStoreSuite } from '../../conformance/session-store-suite.js';
import { fakeClock } from '../../helpers/clock.js';

sessionStoreSuite({ name: 'memory', create: () => new MemorySessionAdapter() });

describe('SessionStore', () => {
  it('validates options at construction', () => {
    expect(() => new SessionStore({ ttlMs: 0 })).toThrow(InvalidOptionsError);
    expect(() => new SessionStore({ ttlMs: 1.5 })).toThrow(InvalidOptionsError);
    expect(() => new SessionStore({ maxUpdateRetries: -1 })).toThrow(InvalidOptionsError);
    expect(() => new SessionStore({ maxUserIdLength: 0 })).toThrow(InvalidOptionsError);
    expect(() => new MemorySessionAdapter({ maxSessions: 0 })).toThrow(InvalidOptionsError);
  });

  it('expires on a fake clock and bounds the memory adapter', async () => {
    const clock = fakeClock(1_000);
    const store = new SessionStore({
      adapter: new MemorySessionAdapter({ maxSessions: 2, clock }),
      ttlMs: 100,
    });
    const a = await store.create({ n: 1 }, { userId: 'u' });
    clock.advance(99);
    expect(await store.touch(a.id)).toBeDefined();
    clock.advance(99);
    expect(await store.get(a.id)).toBeDefined();
    clock.advance(2);
    expect(await store.get(a.id)).toBeUndefined();
    const b = await store.create({ n: 2 }, { userId: 'u' });
    const c = await store.create({ n: 3 }, { userId: 'u' });
    const d = await store.create({ n: 4 }, { userId: 'u' });
    expect(await store.get(b.id)).toBeUndefined();
    expect(await store.get(c.id)).toBeDefined();
    expect(await store.get(d.id)).toBeDefined();
    expect(await store.destroyAllForUser('u')).toBe(2);
  });

  it('closes the adapter it created, never one passed in', async () => {
    let closes = 0;
    const passed = new MemorySessionAdapter();
    const closeOf = passed.close.bind(passed);
    passed.close = async () => {
      closes++;
      await closeOf();
    };
    const store = new SessionStore({ adapter: passed });
    const s = await store.create({ n: 1 });
    await store.close();
    expect(closes).toBe(0);
    expect(await passed.get(s.id)).toBeDefined();
    // The default adapter is the store's: built with its clock, closed with it.
    const clock = fakeClock(5_000);
    const own = new SessionStore({ clock, ttlMs: 100 });
    const adapter = own.adapter;
    const t = await own.create({ n: 2 });
    clock.advance(101);
    expect(await own.get(t.id)).toBeUndefined();
    const u = await own.create({ n: 3 });
    await own.close();
    expect(await adapter.get(u.id)).toBeUndefined();
  });

  it('refuses an adapter without close(), a bad clock and a bad logger, naming the option', () => {
    const { close: _close, ...noClose } = Object.fromEntries(
      ['create', 'get', 'touch', 'update', 'move', 'destroy', 'destroyAllForUser', 'close'].map((m) => [
        m,
        async () => undefined,
      ]),
    );
    expect(() => new SessionStore({ adapter: noClose as never })).toThrow(/close/);
    expect(() => new SessionStore({ clock: { now: () => 1 } as never })).toThrow(
      expect.objectContaining({ option: 'clock' }),
    );
    expect(() => new SessionStore({ logger: 5 as never })).toThrow(
      expect.objectContaining({ option: 'logger' }),
    );
    expect(() => new SessionStore({ now: Date.now } as never)).toThrow(
      expect.objectContaining({ option: 'now', suggestion: 'clock' }),
    );
  });
});
