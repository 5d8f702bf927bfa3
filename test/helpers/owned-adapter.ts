import { onTestFinished } from 'vitest';

/**
 * Closes `adapter` when the current test finishes (after its own `finally`
 * blocks). A primitive closes only the adapters it created (issue 17), so a
 * test that passes one in closes it too; call inside a test.
 */
export function closedAfterTest<A extends { close(): Promise<void> }>(adapter: A): A {
  onTestFinished(async () => {
    await adapter.close().catch(() => {});
  });
  return adapter;
}
