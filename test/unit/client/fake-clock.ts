import type { Clock } from '../../../src/types.js';

/** A clock tests move by hand. */
export function fakeClock(start = 1_000_000): Clock & { advance(ms: number): void } {
  let t = start;
  return {
    now: () => t,
    monotonic: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}
