import { describe, expect, it } from 'vitest';
import { memoryIdempotencyStore } from '../../../src/adapters/memory/memory-idempotency-store.js';
import { redisIdempotencyStore } from '../../../src/adapters/redis/idempotency.js';
import type { IdempotencyStore } from '../../../src/contracts/idempotency.js';
import { isScaleoutError } from '../../../src/errors.js';
import { Idempotency } from '../../../src/idempotency/idempotency.js';
import type { IdempotencyStoredEvent } from '../../../src/idempotency/idempotency-events.js';
import { adapterKinds } from '../../helpers/adapter-kinds.js';

const adapters = adapterKinds<IdempotencyStore>('idem-results', {
  memory: () => memoryIdempotencyStore(),
  redis: (url, prefix) => redisIdempotencyStore({ connection: url, prefix }),
});

class Money {
  constructor(readonly cents: number) {}
}

/** Results JSON would read back as other data, and where the refusal points. */
const CHANGED: ReadonlyArray<[string, () => unknown, string]> = [
  ['a Date', () => ({ receipt: 'r-1', chargedAt: new Date(0) }), '$.chargedAt'],
  ['a Map', () => ({ items: new Map([['sku', 2]]) }), '$.items'],
  ['NaN', () => ({ rate: Number.NaN }), '$.rate'],
  ['a class instance', () => ({ total: new Money(1250) }), '$.total'],
  // biome-ignore lint/suspicious/noSparseArray: the hole is the case
  ['a hole in an array', () => [1, , 3], '$[1]'],
  ['a top-level Date', () => new Date(0), '$'],
];

describe.each(adapters.kinds)('run() results on the %s store', (kind) => {
  it.each(CHANGED)(
    '%s: the first call gets it as is; it is not kept changed, a repeat is refused (not-kept)',
    async (_, make, path) => {
      const warnings: unknown[] = [];
      const keys = new Idempotency({
        adapter: adapters.open(kind),
        logger: { warn: (_m: string, fields?: unknown) => warnings.push(fields) },
      });
      const stored: IdempotencyStoredEvent[] = [];
      keys.on('stored', (e) => stored.push(e));
      let runs = 0;
      const fn = () => {
        runs++;
        return make();
      };
      const first = await keys.run('charge:o-42', fn);
      expect(first).toStrictEqual(make());
      // Said loudly on the first call: the event carries the refusal, naming where and what.
      expect(stored).toHaveLength(1);
      expect(stored[0]).toMatchObject({
        key: 'fn:charge:o-42',
        source: 'run',
        kept: false,
        reason: 'unserializable',
      });
      expect(isScaleoutError(stored[0]!.error, 'ERR_SERIALIZE')).toBe(true);
      expect((stored[0]!.error as Error).message).toContain(` at ${path}:`);
      expect(JSON.stringify(warnings)).toContain(` at ${path}:`);
      // A repeat never gets the changed value, and never runs again.
      const again = await keys.run('charge:o-42', fn).catch((e: unknown) => e);
      expect(again).toMatchObject({ code: 'ERR_IDEMPOTENCY_CONFLICT', reason: 'not-kept' });
      expect(runs).toBe(1);
      await keys.close();
    },
  );

  it('a result that reads back as it is replays, and the stored event says it is kept', async () => {
    const keys = new Idempotency({ adapter: adapters.open(kind) });
    const stored: IdempotencyStoredEvent[] = [];
    keys.on('stored', (e) => stored.push(e));
    const value = { receipt: 'r-1', chargedAt: new Date(0).toISOString(), cents: 1250, items: [['sku', 2]] };
    expect(await keys.run('charge:o-43', () => value)).toBe(value);
    expect(await keys.run('charge:o-43', () => 'again')).toStrictEqual(value);
    expect(stored).toEqual([{ key: 'fn:charge:o-43', source: 'run', kept: true }]);
    await keys.close();
  });

  it('a record an earlier version kept (a changed value) still replays as it was kept', async () => {
    const adapter = adapters.open(kind);
    // What run() stored for { chargedAt: new Date(0) } before results were checked.
    const claim = await adapter.claim({
      key: 'fn:charge:o-44',
      owner: 'old',
      fingerprint: '',
      leaseMs: 5_000,
    });
    expect(claim.status).toBe('claimed');
    await adapter.complete({
      key: 'fn:charge:o-44',
      owner: 'old',
      fingerprint: '',
      response: JSON.stringify({ t: 'v', d: JSON.stringify({ chargedAt: new Date(0) }) }),
      ttlMs: 60_000,
    });
    const keys = new Idempotency({ adapter });
    expect(await keys.run('charge:o-44', () => 'never')).toStrictEqual({
      chargedAt: '1970-01-01T00:00:00.000Z',
    });
    await keys.close();
  });
});
