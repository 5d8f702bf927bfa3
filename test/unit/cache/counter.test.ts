import { describe, expect, it } from 'vitest';
import { memoryCacheAdapter } from '../../../src/adapters/memory/index.js';
import { CorruptDataError, InvalidArgumentError } from '../../../src/errors.js';
import { cacheFactory, eventually } from './helpers.js';

const make = cacheFactory();

describe('DistributedCache: counters', () => {
  it('increment counts atomically and get reads the counter', async () => {
    const adapter = memoryCacheAdapter();
    const a = make({ adapter });
    const b = make({ adapter });
    expect(await a.increment('views')).toBe(1);
    expect(await b.increment('views', 5)).toBe(6);
    expect(await a.get('views')).toBe(6);
    await a.increment('views', -1);
    await eventually(async () => (await b.get('views')) === 5);
    await a.set('text', 'hello');
    // A value written by set() is a wrong call, not foreign data (the
    // design's set(k, 5) then increment(k) included): the message says so.
    await expect(a.increment('text')).rejects.toThrow(/holds a value written by set\(\)/);
    await expect(a.increment('text')).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(await a.get('text')).toBe('hello');
    await a.set('points', 5);
    await expect(a.increment('points')).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(await a.get('points')).toBe(5);
    // Text another program wrote is foreign data.
    await adapter.set('v:text-by-another-program', 'hello'); // the cache's data key
    await expect(a.increment('text-by-another-program')).rejects.toBeInstanceOf(CorruptDataError);
    await expect(a.increment('views', 1.5)).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});
