import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { escapeGlob } from '../../src/adapters/redis/keys.js';

/** A key prefix no other test uses: `t:<label>:<random>:`. */
export function uniquePrefix(label = 'test'): string {
  return `t:${label.replace(/[^a-zA-Z0-9_-]/g, '_')}:${randomBytes(6).toString('hex')}:`;
}

/** Deletes every key under `prefix` (SCAN + UNLINK); returns how many. */
export async function deleteKeysWithPrefix(client: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await client.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}
