/**
 * The scenarios of SessionStore that hold on every adapter, written once and
 * run over each: memory (test/unit/session/session-store.test.ts) and a
 * real redis-server (test/integration/session/redis-session-adapter.test.ts).
 * What differs by store (expiry on a fake clock, the memory adapter's bound,
 * Redis connections and keys) stays in that store's own tests.
 */
import { describe, expect, it } from 'vitest';
import type { SessionAdapter } from '../../src/contracts/session.js';
import { ClosedError, SessionConflictError } from '../../src/errors.js';
import { SessionStore } from '../../src/session/session-store.js';

/** Options of {@link sessionStoreSuite}. */
export interface SessionStoreSuiteOptions {
  /** Names the store in the test titles. */
  name: string;
  /** A fresh adapter over a fresh store (or a fresh namespace of it); the suite closes it. */
  create(): SessionAdapter | Promise<SessionAdapter>;
}

/** Registers the suite (vitest's describe/it) for one store. */
export function sessionStoreSuite(options: SessionStoreSuiteOptions): void {
  /** Runs `fn` with a fresh adapter and closes it after (a store never closes an adapter it was given). */
  const withAdapter = (fn: (adapter: SessionAdapter) => Promise<void>) => async (): Promise<void> => {
    const adapter = await options.create();
    try {
      await fn(adapter);
    } finally {
      await adapter.close();
    }
  };

  describe(`SessionStore over ${options.name}`, () => {
    it(
      'merge updates re-run the callback on the winner’s data (conflicts really happen)',
      withAdapter(async (adapter) => {
        const store = new SessionStore<{ n: number }>({ adapter });
        const s = await store.create({ n: 0 });
        let calls = 0;
        await Promise.all(
          Array.from({ length: 10 }, () =>
            store.update(s.id, (d) => {
              calls++;
              return { n: d.n + 1 };
            }),
          ),
        );
        expect((await store.get(s.id))?.data.n).toBe(10);
        expect(calls).toBeGreaterThan(10);
      }),
    );

    it(
      'gives up with SessionConflictError after maxUpdateRetries',
      withAdapter(async (adapter) => {
        const store = new SessionStore<{ n: number }>({ adapter, maxUpdateRetries: 2 });
        const s = await store.create({ n: 0 });
        let calls = 0;
        const err = await store
          .update(s.id, async (d) => {
            calls++;
            // Another writer gets in between every read and write.
            await store.update(s.id, (x) => ({ n: x.n + 100 }));
            return { n: d.n + 1 };
          })
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(SessionConflictError);
        expect(calls).toBe(3);
        expect(String((err as Error).message)).not.toContain(s.id);
      }),
    );

    it(
      'refuses use after close',
      withAdapter(async (adapter) => {
        const store = new SessionStore({ adapter });
        await store.close();
        await expect(store.create({})).rejects.toBeInstanceOf(ClosedError);
      }),
    );

    it(
      'closes once: every call gets the same promise, asyncDispose closes too',
      withAdapter(async (adapter) => {
        const store = new SessionStore({ adapter });
        const first = store.close();
        expect(store.close()).toBe(first);
        await first;
        await expect(store.get('a'.repeat(43))).rejects.toMatchObject({ code: 'ERR_CLOSED' });
        const disposed = new SessionStore({ adapter });
        await disposed[Symbol.asyncDispose]();
        await expect(disposed.create({})).rejects.toBeInstanceOf(ClosedError);
      }),
    );

    it(
      'two stores on one adapter: closing a store leaves the other and the adapter working',
      withAdapter(async (adapter) => {
        const a = new SessionStore({ adapter });
        const b = new SessionStore({ adapter });
        const s = await a.create({ n: 1 });
        await a.close();
        expect((await b.get(s.id))?.data).toEqual({ n: 1 });
        const t = await b.create({ n: 2 });
        await b.close();
        // The adapter is the caller's: still open after both stores closed.
        expect(await adapter.get(t.id)).toMatchObject({ version: 1 });
        await expect(a.get(s.id)).rejects.toBeInstanceOf(ClosedError);
      }),
    );
  });
}
