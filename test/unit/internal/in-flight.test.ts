import { describe, expect, it } from 'vitest';
import { InFlight } from '../../../src/internal/in-flight.js';

describe('InFlight', () => {
  it('idle() resolves at once when nothing is in flight, else when the count reaches zero', async () => {
    const inFlight = new InFlight();
    await inFlight.idle();
    inFlight.add();
    inFlight.add();
    let idle = false;
    const waiting = inFlight.idle().then(() => {
      idle = true;
    });
    inFlight.done();
    await Promise.resolve();
    expect(idle).toBe(false);
    expect(inFlight.count).toBe(1);
    inFlight.done();
    await waiting;
    expect(idle).toBe(true);
    expect(inFlight.count).toBe(0);
  });

  it('never counts below zero', () => {
    const inFlight = new InFlight();
    inFlight.done();
    expect(inFlight.count).toBe(0);
  });
});
