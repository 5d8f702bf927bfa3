/**
 * A long-lived worker for the harness's own tests: it echoes numbers (doubled)
 * until told to stop, fail or exit. DIE_BEFORE_READY=1 makes it exit(1) first.
 */
import { workerMain } from '../../../helpers/worker-main.js';

/** What the parent sends. */
export type EchoCommand =
  | { op: 'echo'; n: number }
  | { op: 'fail' }
  | { op: 'exit'; code: number }
  | { op: 'hang' }
  | { op: 'done' };

/** What the worker sends back. */
export type EchoReply = { index: number; doubled: number };

if (process.env.DIE_BEFORE_READY === '1') {
  console.error('echo worker: dying before ready, as asked');
  process.exit(1);
}

workerMain<{ echoed: number; payload: unknown }, EchoCommand, EchoReply>(async (payload, channel) => {
  const index = Number(process.env.WORKER_INDEX);
  let echoed = 0;
  for (;;) {
    const m = await channel.receive();
    if (m.op === 'echo') {
      channel.send({ index, doubled: m.n * 2 });
      echoed++;
    } else if (m.op === 'fail') throw new Error('asked to fail');
    else if (m.op === 'exit') process.exit(m.code);
    else if (m.op === 'hang') await new Promise(() => {});
    else return { echoed, payload };
  }
});
