import { describe, expect, it } from 'vitest';
import { DistributedCache } from '../../../src/cache/index.js';
import { InvalidOptionsError } from '../../../src/errors.js';

describe('DistributedCache: settings', () => {
  it('validates options at construction', () => {
    expect(() => new DistributedCache({ defaultTtlMs: 0 })).toThrow(InvalidOptionsError);
    expect(() => new DistributedCache({ graceMs: -1 })).toThrow(InvalidOptionsError);
    expect(() => new DistributedCache({ earlyRefreshBeta: Number.NaN })).toThrow(InvalidOptionsError);
    expect(() => new DistributedCache({ failOpen: 'yes' as never })).toThrow(InvalidOptionsError);
    expect(() => new DistributedCache({ waitPollMinMs: 500, waitPollMaxMs: 100 })).toThrow(
      InvalidOptionsError,
    );
    expect(() => new DistributedCache({ l1MaxEntries: 0 })).toThrow(InvalidOptionsError);
    expect(() => new DistributedCache({ adapter: { get: () => undefined } as never })).toThrow(
      /missing getMany/,
    );
    expect(() => new DistributedCache({ serializer: {} as never })).toThrow(InvalidOptionsError);
  });
});
