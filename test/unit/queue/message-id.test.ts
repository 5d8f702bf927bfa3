import { randomBytes } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { describe, expect, it } from 'vitest';
import { messageIdOf, newMessageId } from '../../../src/queue/message-id.js';

describe('newMessageId', () => {
  it('gives UUID v7 ids, unique and strictly increasing across pool refills and within one millisecond', () => {
    const ids = Array.from({ length: 5_000 }, () => newMessageId());
    for (const id of ids)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
    // The first 48 bits are the time in ms.
    const ms = Number.parseInt(ids[0]!.replace(/-/g, '').slice(0, 12), 16);
    expect(Math.abs(ms - Date.now())).toBeLessThan(60_000);
  });

  it('writes the same text as uuid v7 for the same time, sequence and random bytes', () => {
    for (let i = 0; i < 2_000; i++) {
      const random = new Uint8Array(randomBytes(16));
      const msecs = Math.floor(Math.random() * 2 ** 48);
      const seq = randomBytes(4).readUInt32BE(0) | 0;
      expect(messageIdOf(random, 0, msecs, seq)).toBe(uuidv7({ random, msecs, seq }));
    }
    const pool = new Uint8Array(randomBytes(48));
    expect(messageIdOf(pool, 16, 1_700_000_000_000, 7)).toBe(
      uuidv7({ random: pool.subarray(16, 32), msecs: 1_700_000_000_000, seq: 7 }),
    );
  });
});
