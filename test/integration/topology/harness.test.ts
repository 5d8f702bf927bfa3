import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startWorker, startWorkers } from '../../helpers/workers.js';
import type { EchoCommand, EchoReply } from './workers/echo.js';

const echo = fileURLToPath(new URL('./workers/echo.ts', import.meta.url));
type Result = { echoed: number; payload: unknown };

describe('multi-process harness: long-lived workers', () => {
  it('exchanges typed messages both ways with each worker, then collects their results', async () => {
    const workers = await startWorkers<Result, EchoReply, EchoCommand>(echo, 3);
    try {
      workers.go({ run: 7 });
      for (let i = 0; i < 3; i++) for (let n = 1; n <= 4; n++) workers.send(i, { op: 'echo', n: 10 * i + n });
      // Taken out of order: next() finds the match among messages already received.
      expect(await workers.next(2, (m) => m.doubled === 2 * 24)).toEqual({ index: 2, doubled: 48 });
      for (let i = 0; i < 3; i++) {
        // The rest in arrival order; each worker answers only its own messages.
        const expected = [1, 2, 3, 4].filter((n) => i !== 2 || n !== 4).map((n) => 2 * (10 * i + n));
        for (const doubled of expected) expect(await workers.next(i)).toEqual({ index: i, doubled });
        // The log keeps every message, taken or not.
        expect(workers.workers[i]!.messages.map((m) => m.doubled).sort((a, b) => a - b)).toEqual(
          [1, 2, 3, 4].map((n) => 2 * (10 * i + n)),
        );
        workers.send(i, { op: 'done' });
      }
      expect(await workers.results()).toEqual([0, 1, 2].map(() => ({ echoed: 4, payload: { run: 7 } })));
      for (const w of workers.workers) expect(await w.exited).toEqual({ code: 0, signal: null });
    } finally {
      workers.kill();
    }
  }, 60_000);

  it('names the worker when it fails, exits or times out, and when a message is sent to a gone worker', async () => {
    const failing = await startWorker<Result, EchoReply, EchoCommand>(echo, { name: 'echo-failing' });
    const exiting = await startWorker<Result, EchoReply, EchoCommand>(echo, { index: 1 });
    const hanging = await startWorker<Result, EchoReply, EchoCommand>(echo, { index: 2 });
    try {
      for (const w of [failing, exiting, hanging]) w.go();
      failing.send({ op: 'fail' });
      await expect(failing.next()).rejects.toThrow(
        /worker echo-failing failed before a message .*asked to fail/s,
      );
      await expect(failing.result()).rejects.toThrow(/worker echo-failing failed before its result/);
      expect((await failing.exited).code).toBe(1);

      exiting.send({ op: 'exit', code: 3 });
      await expect(exiting.next()).rejects.toThrow(/worker echo\.ts#1 exited with code 3 before a message/);
      expect(() => exiting.send({ op: 'done' })).toThrow(/worker echo\.ts#1 is gone/);

      hanging.send({ op: 'hang' });
      await expect(hanging.next(undefined, 300)).rejects.toThrow(
        /worker echo\.ts#2 timed out after 300 ms waiting for a message/,
      );
      // A result timeout kills the worker.
      await expect(hanging.result(300)).rejects.toThrow(
        /worker echo\.ts#2 timed out after 300 ms waiting for its result/,
      );
      expect((await hanging.exited).signal).toBe('SIGKILL');
    } finally {
      await Promise.all([failing, exiting, hanging].map((w) => w.stop('SIGKILL')));
    }
  }, 60_000);

  it('stops a worker with a signal, and reports a worker that dies before ready', async () => {
    const w = await startWorker<Result, EchoReply, EchoCommand>(echo);
    w.go();
    expect(await w.stop('SIGTERM')).toEqual({ code: null, signal: 'SIGTERM' });
    expect(await w.stop()).toEqual({ code: null, signal: 'SIGTERM' });
    await expect(startWorkers(echo, 2, { env: { DIE_BEFORE_READY: '1' } })).rejects.toThrow(
      /worker echo\.ts#\d exited with code 1 before ready; stderr: echo worker: dying before ready/,
    );
  }, 60_000);
});
