import { describe, expect, it } from 'vitest';
import { newMessageId } from '../../../src/queue/message-id.js';

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
});
