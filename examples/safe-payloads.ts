/**
 * Typed errors and the safe serializer: what scaleout does with bad input.
 * Run: npm run example:safe-payloads
 */
import { isScaleoutError, jsonSerializer } from 'scaleout';

const attempts: Array<[string, () => unknown]> = [
  ['a plain record', () => jsonSerializer.deserialize('{"id":1,"name":"Ada"}')],
  [
    'a prototype-pollution payload',
    () => jsonSerializer.deserialize('{"user":{"__proto__":{"isAdmin":true}}}'),
  ],
  ['truncated JSON', () => jsonSerializer.deserialize('{"id":1,"token":"s3cr')],
  [
    'a circular value',
    () => {
      const order: Record<string, unknown> = { id: 'o-1' };
      order.self = order;
      return jsonSerializer.serialize(order);
    },
  ],
];

for (const [label, attempt] of attempts) {
  try {
    console.log(`ok    ${label}:`, attempt());
  } catch (err) {
    if (!isScaleoutError(err)) throw err;
    console.log(`${err.code.padEnd(20)} ${label}: ${err.message}`);
  }
}
console.log('\n({} as any).isAdmin is still', ({} as Record<string, unknown>).isAdmin);
