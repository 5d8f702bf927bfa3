import { describe, expect, it } from 'vitest';
import { memoryIdempotencyStore } from '../../../src/adapters/memory/memory-idempotency-store.js';
import { redisIdempotencyStore } from '../../../src/adapters/redis/idempotency.js';
import type { IdempotencyStore } from '../../../src/contracts/idempotency.js';
import { Idempotency } from '../../../src/idempotency/idempotency.js';
import { adapterKinds } from '../../helpers/adapter-kinds.js';

const adapters = adapterKinds<IdempotencyStore>('idem-shared', {
  memory: () => memoryIdempotencyStore(),
  redis: (url, prefix) => redisIdempotencyStore({ connection: url, prefix }),
});

describe.each(adapters.kinds)('two Idempotency objects sharing one %s adapter', (kind) => {
  it.each(['first', 'second'])('closing the %s leaves the other and the adapter working', async (which) => {
    const adapter = adapters.open(kind);
    const first = new Idempotency({ adapter });
    const second = new Idempotency({ adapter });
    expect(await first.run('charge:1', () => 'first')).toBe('first');
    const [closed, open] = which === 'first' ? [first, second] : [second, first];
    await closed.close();
    await expect(closed.run('charge:2', () => 'x')).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    // The survivor replays what the other kept and runs new keys: the adapter is still open.
    expect(await open.run('charge:1', () => 'again')).toBe('first');
    expect(await open.run('charge:2', () => 'second')).toBe('second');
    await open.close();
    expect(await new Idempotency({ adapter }).run('charge:2', () => 'third')).toBe('second');
  });
});
