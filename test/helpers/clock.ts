import type { Clock } from '../../src/types.js';

/** A clock that tests move by hand: the one fake clock of the suite. */
export interface FakeClock extends Clock {
  /** Moves both `now()` and `monotonic()` forward by `ms`. */
  advance(ms: number): void;
  /** Sets both readings to `ms`. */
  set(ms: number): void;
}

/** A {@link FakeClock} starting at `start` ms (wall and monotonic alike). */
export function fakeClock(start = 1_000_000): FakeClock {
  let t = start;
  return {
    now: () => t,
    monotonic: () => t,
    advance(ms: number) {
      t += ms;
    },
    set(ms: number) {
      t = ms;
    },
  };
}
