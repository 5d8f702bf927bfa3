/**
 * The client bench's fake upstream in a process of its own, as an upstream
 * is in production: `node --import tsx bench/client-upstream.ts`; prints its
 * URL on stdout and exits when stdin closes.
 */
import { startFakeUpstream } from '../test/helpers/fake-upstream.js';

const up = await startFakeUpstream({ seed: 7 });
console.log(up.url);
process.stdin.resume();
process.stdin.on('end', () => {
  void up.close().then(() => process.exit(0));
});
