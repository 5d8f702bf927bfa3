import { describe, expect, it } from 'vitest';
import { memoryRegistryAdapter } from '../../../src/adapters/memory/registry.js';
import { redisRegistryAdapter } from '../../../src/adapters/redis/registry.js';
import { refusal } from './helpers.js';

describe('every options object of the registry refuses unknown keys, non-plain objects and bare numbers', () => {
  it('the adapter factories', () => {
    expect(refusal(() => memoryRegistryAdapter({ clok: Date } as never))?.option).toBe('clok');
    expect(refusal(() => memoryRegistryAdapter(5 as never))?.code).toBe('ERR_INVALID_OPTIONS');
    expect(
      refusal(() => redisRegistryAdapter({ connection: 'redis://127.0.0.1:1', keyPrefix: 'x:' } as never)),
    ).toMatchObject({
      option: 'keyPrefix',
      suggestion: 'prefix',
    });
    expect(refusal(() => redisRegistryAdapter('redis://127.0.0.1:1' as never))?.code).toBe(
      'ERR_INVALID_OPTIONS',
    );
  });
});
