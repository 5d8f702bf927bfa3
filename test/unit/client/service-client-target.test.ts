/** The target of new ServiceClient(target, options): the design's forms fail loudly with the fix. */
import { describe, expect, it } from 'vitest';
import { memoryRegistryAdapter } from '../../../src/adapters/memory/registry.js';
import { ServiceClient } from '../../../src/client/service-client.js';
import type { InvalidOptionsError } from '../../../src/errors.js';
import { ServiceRegistry } from '../../../src/registry/service-registry.js';
import { BASE } from './fixtures.js';

/** The error `fn` throws or its promise rejects with. */
async function failure(fn: () => unknown): Promise<InvalidOptionsError & { argument?: string }> {
  try {
    await fn();
  } catch (err) {
    return err as InvalidOptionsError;
  }
  throw new Error('expected a failure');
}

describe("ServiceClient construction: the design's forms fail loudly with the fix", () => {
  it("new ServiceClient('inventory-service') names the environment variable the design read, and { baseUrl }", async () => {
    const err = await failure(() => new ServiceClient('inventory-service' as never));
    expect(err).toMatchObject({ code: 'ERR_INVALID_OPTIONS', option: 'target', suggestion: 'baseUrl' });
    expect(err.message).toContain("process.env['INVENTORY-SERVICE_URL']");
    expect(err.message).toContain('new ServiceClient({ baseUrl:');
    // The fix, with the variable unset: a clear message, not "Invalid URL".
    const unset = await failure(
      () => new ServiceClient({ baseUrl: process.env['NOT-SET-SERVICE_URL'] as string }),
    );
    expect(unset.message).toContain('environment variable');
  });

  it("new ServiceClient(registry, 'inventory-service') gives the scaleout form", async () => {
    const registry = new ServiceRegistry({ adapter: memoryRegistryAdapter() });
    const err = await failure(() => new ServiceClient(registry as never, 'inventory-service' as never));
    expect(err).toMatchObject({ code: 'ERR_INVALID_OPTIONS', option: 'target', suggestion: 'service' });
    expect(err.message).toContain("new ServiceClient({ service: 'inventory-service', registry })");
    await registry.close();
  });

  it('the target refuses unknown keys (baseURL -> baseUrl) and junk', async () => {
    expect(await failure(() => new ServiceClient({ baseURL: BASE } as never))).toMatchObject({
      option: 'baseURL',
      suggestion: 'baseUrl',
    });
    expect(
      await failure(
        () => new ServiceClient({ service: 's', registry: { pick: () => undefined }, retries: 3 } as never),
      ),
    ).toMatchObject({ option: 'retries' });
    for (const junk of [undefined, null, 42, [], () => 1]) {
      expect((await failure(() => new ServiceClient(junk as never))).code).toBe('ERR_INVALID_OPTIONS');
    }
  });
});
