import { describe, expect, it } from 'vitest';
import { memoryRateLimitAdapter } from '../../../src/adapters/memory/memory-rate-limit-adapter.js';
import { redisRateLimitAdapter } from '../../../src/adapters/redis/rate-limit.js';
import type { RateLimitAdapter } from '../../../src/contracts/rate-limit.js';
import { RateLimiter } from '../../../src/rate-limit/rate-limiter.js';
import { adapterKinds } from '../../helpers/adapter-kinds.js';

const adapters = adapterKinds<RateLimitAdapter>('rl-shared', {
  memory: () => memoryRateLimitAdapter(),
  redis: (url, prefix) => redisRateLimitAdapter({ connection: url, prefix }),
});

describe.each(adapters.kinds)('two rate limiters sharing one %s adapter', (kind) => {
  it.each(['first', 'second'])('closing the %s leaves the other and the adapter working', async (which) => {
    const adapter = adapters.open(kind);
    const limits = { limit: 3, windowMs: 60_000, algorithm: 'fixed-window' as const };
    const first = new RateLimiter({ adapter, limits });
    const second = new RateLimiter({ adapter, limits });
    expect((await first.consume('user:1')).remaining).toBe(2);
    const [closed, open] = which === 'first' ? [first, second] : [second, first];
    await closed.close();
    await expect(closed.consume('user:1')).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    // The survivor counts on the same store: it sees the other's hit, and decides on the adapter.
    const decision = await open.consume('user:1');
    expect(decision).toMatchObject({ allowed: true, remaining: 1 });
    expect(open.degraded).toBe(false);
    await open.close();
    expect((await new RateLimiter({ adapter, limits }).peek('user:1')).remaining).toBe(1);
  });
});
