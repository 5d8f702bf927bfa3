import { BulkheadFullError, InvalidOptionsError } from '../errors.js';
import { abortedError } from '../internal/abort.js';
import { optionsChecker } from '../internal/validate.js';
import {
  checkExecuteArguments,
  checkSignalArgument,
  NEVER_ABORTED,
  type Policy,
  type PolicyContext,
} from './policy.js';

/**
 * Options of {@link Bulkhead}.
 *
 * @example
 * ```ts
 * new Bulkhead({ maxConcurrent: 32, maxQueue: 64 });
 * ```
 */
export interface BulkheadOptions {
  /** Executions allowed at once. @default 64 */
  maxConcurrent?: number;
  /** Executions allowed to wait for a slot; beyond it, {@link BulkheadFullError}. `0` for none. @default 256 */
  maxQueue?: number;
}

/**
 * Defaults of {@link BulkheadOptions}.
 *
 * @example
 * ```ts
 * console.log(BULKHEAD_DEFAULTS);
 * ```
 */
export const BULKHEAD_DEFAULTS = {
  /** Executions allowed at once. */
  maxConcurrent: 64,
  /** Executions allowed to wait. */
  maxQueue: 256,
} as const;

const checkOptions = optionsChecker({
  where: 'Bulkhead options',
  keys: ['maxConcurrent', 'maxQueue'],
  hints: { concurrency: 'maxConcurrent', limit: 'maxConcurrent', queue: 'maxQueue', maxQueued: 'maxQueue' },
  bareNumber: 'maxConcurrent',
});

interface Waiter {
  grant: () => void;
}

/**
 * A concurrency limit with a bounded FIFO queue: at most `maxConcurrent`
 * executions run, up to `maxQueue` wait, and the rest fail fast with
 * {@link BulkheadFullError}, so a slow upstream cannot take every socket and
 * every pending promise of the process. A waiter whose signal fires leaves
 * the queue at once.
 *
 * @example
 * ```ts
 * const bulkhead = new Bulkhead({ maxConcurrent: 10, maxQueue: 20 });
 * const data = await bulkhead.execute(({ signal }) => axios.get(url, { signal }));
 * ```
 */
export class Bulkhead implements Policy {
  /** Executions allowed at once. */
  readonly maxConcurrent: number;
  /** Executions allowed to wait. */
  readonly maxQueue: number;
  #active = 0;
  readonly #queue: Waiter[] = [];

  constructor(options: BulkheadOptions = {}) {
    checkOptions(options);
    options ??= {};
    this.maxConcurrent = integer(
      'maxConcurrent',
      options.maxConcurrent ?? BULKHEAD_DEFAULTS.maxConcurrent,
      1,
    );
    this.maxQueue = integer('maxQueue', options.maxQueue ?? BULKHEAD_DEFAULTS.maxQueue, 0);
  }

  /** Executions running now. */
  get active(): number {
    return this.#active;
  }

  /** Executions waiting for a slot. */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Takes a slot, waiting in the queue if needed. Resolves to a function
   * that gives the slot back (call it once). Rejects with
   * {@link BulkheadFullError} when the queue is full, or `AbortedError`
   * when `signal` fires while waiting.
   */
  acquire(signal?: AbortSignal): Promise<() => void> | (() => void) {
    checkSignalArgument('Bulkhead.acquire()', signal);
    if (signal?.aborted) throw abortedError(signal);
    if (this.#active < this.maxConcurrent) {
      this.#active++;
      return this.#releaser();
    }
    if (this.#queue.length >= this.maxQueue) {
      throw new BulkheadFullError(`bulkhead full: ${this.maxConcurrent} running and ${this.maxQueue} queued`);
    }
    return new Promise<() => void>((resolve, reject) => {
      const waiter: Waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.#releaser());
        },
      };
      const onAbort = () => {
        const i = this.#queue.indexOf(waiter);
        if (i !== -1) this.#queue.splice(i, 1);
        reject(abortedError(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(waiter);
    });
  }

  /** Runs `fn` in a slot; the slot is held until `fn` settles. */
  async execute<T>(fn: (context: PolicyContext) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T> {
    checkExecuteArguments('Bulkhead.execute()', fn, signal);
    const release = await this.acquire(signal);
    try {
      return await fn({ signal: signal ?? NEVER_ABORTED });
    } finally {
      release();
    }
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#queue.shift();
      // The slot passes straight to the next waiter: active stays the same.
      if (next !== undefined) next.grant();
      else this.#active--;
    };
  }
}

function integer(name: string, value: number, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new InvalidOptionsError(`${name} must be an integer >= ${min}`, { option: name });
  }
  return value;
}
