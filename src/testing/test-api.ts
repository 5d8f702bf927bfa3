/**
 * The few functions of a test runner that the conformance suites use.
 * vitest, jest, mocha (with `before`/`after` mapped) and `node:test` all fit;
 * assertions use `node:assert`, so no particular expect library is needed.
 *
 * @example
 * ```ts
 * import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from 'vitest';
 * const test: TestApi = { describe, it, beforeAll, afterAll, beforeEach, afterEach };
 * ```
 */
export interface TestApi {
  /** Groups tests. */
  describe(name: string, fn: () => void): void;
  /** Declares one test; may return a promise. */
  it(name: string, fn: () => unknown, timeoutMs?: number): void;
  /** Runs once before the tests of the enclosing group. */
  beforeAll(fn: () => unknown): void;
  /** Runs once after the tests of the enclosing group. */
  afterAll(fn: () => unknown): void;
  /** Runs before each test of the enclosing group. */
  beforeEach(fn: () => unknown): void;
  /** Runs after each test of the enclosing group. */
  afterEach(fn: () => unknown): void;
}

/**
 * What every conformance suite needs: how to make a fresh adapter for a test
 * and how to dispose of it. Each test gets its own adapter from `create`, so
 * adapters need not be reset between tests; a Redis-backed `create` should
 * use a unique key prefix.
 *
 * @example
 * ```ts
 * const options: ConformanceOptions<MyAdapter> = {
 *   name: 'my adapter',
 *   test,
 *   create: () => new MyAdapter({ prefix: `t:${crypto.randomUUID()}:` }),
 *   destroy: (adapter) => adapter.close(),
 * };
 * ```
 */
export interface ConformanceOptions<TAdapter> {
  /** Shown in the suite's `describe` title. */
  name: string;
  /** The test runner's functions. */
  test: TestApi;
  /** Makes a fresh, empty adapter. */
  create(): TAdapter | Promise<TAdapter>;
  /** Disposes of an adapter made by `create`. */
  destroy?(adapter: TAdapter): void | Promise<void>;
}
