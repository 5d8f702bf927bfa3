/**
 * The cost of the safe serializer's guard rails against plain JSON: the
 * pollution scan runs only when the text mentions `__proto__`/`prototype`
 * or escapes one of their letters (`\u005f`...). Measured through the
 * built package, as users call it (`jsonSerializer` from 'scaleout').
 */

import { jsonSerializer } from '../dist/index.js';
import type { BenchContext } from './lib.js';

const user = {
  id: 'u_01HF3',
  name: 'Ada Lovelace',
  email: 'ada@example.com',
  roles: ['admin', 'billing'],
  address: { street: '12 St James Sq', city: 'London', zip: 'SW1Y 4JH' },
  orders: Array.from({ length: 10 }, (_, i) => ({ id: i, total: 19.99 * i, items: [i, i + 1] })),
};
const userText = JSON.stringify(user);
const mentionsPrototype = { ...user, note: 'the prototype of the engine' };
const mentionsText = JSON.stringify(mentionsPrototype);
/** The record as ASCII-only producers (Python's json.dumps) write it: non-ASCII as \uXXXX escapes. */
const asciiText = JSON.stringify({
  ...user,
  name: 'Ada Lovelace, Countess of Lovelace ✓',
  city: 'Zürich',
}).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

export default async function (ctx: BenchContext): Promise<void> {
  await ctx.compare('serialize + deserialize a 1 KB record', {
    'JSON.stringify/parse': () => JSON.parse(JSON.stringify(user)),
    jsonSerializer: () => jsonSerializer.deserialize(jsonSerializer.serialize(user)),
  });
  await ctx.compare('deserialize text that mentions "prototype" (scan path)', {
    'JSON.parse': () => JSON.parse(mentionsText),
    jsonSerializer: () => jsonSerializer.deserialize(mentionsText),
    'jsonSerializer (no mention)': () => jsonSerializer.deserialize(userText),
  });
  await ctx.compare('deserialize a 1 KB record with \\u escapes (not of pollution-key letters)', {
    'JSON.parse': () => JSON.parse(asciiText),
    jsonSerializer: () => jsonSerializer.deserialize(asciiText),
  });
}
