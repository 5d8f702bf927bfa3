import { type ChildProcess, fork } from 'node:child_process';

/** Messages a worker process sends to the parent with `process.send`. */
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'result'; data: unknown }
  | { type: 'error'; message: string };

/** A handle on the worker processes started by {@link startWorkers}. */
export interface Workers<T> {
  readonly processes: ChildProcess[];
  /** Releases every worker at once (they wait for `go` after sending `ready`). */
  go(payload?: unknown): void;
  /** Resolves with each worker's result, in start order; rejects if any fails or times out. */
  results(): Promise<T[]>;
  /** SIGKILL every worker still running. */
  kill(): void;
}

/**
 * Forks `count` Node processes running the TypeScript file `script` (through
 * tsx), each with `WORKER_INDEX` and the given env. A worker script calls
 * `workerMain(async (go) => result)` from `test/helpers/worker-main.ts`:
 * it reports ready, waits for the parent's {@link Workers.go} (a start
 * barrier, so all processes contend at the same moment), runs, and sends its
 * result.
 */
export async function startWorkers<T>(
  script: string,
  count: number,
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Workers<T>> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const processes: ChildProcess[] = [];
  const readies: Promise<void>[] = [];
  const outcomes: Promise<T>[] = [];
  for (let i = 0; i < count; i++) {
    const child = fork(script, [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, ...options.env, WORKER_INDEX: String(i), WORKER_COUNT: String(count) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    processes.push(child);
    readies.push(
      new Promise<void>((resolve, reject) => {
        const onMessage = (m: WorkerMessage) => {
          if (m.type === 'ready') {
            child.off('message', onMessage);
            resolve();
          }
        };
        child.on('message', onMessage);
        child.once('exit', (code) => reject(new Error(`worker ${i} exited with ${code} before ready`)));
      }),
    );
    outcomes.push(
      new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`worker ${i} timed out after ${timeoutMs} ms`));
        }, timeoutMs);
        child.on('message', (m: WorkerMessage) => {
          if (m.type === 'result') {
            clearTimeout(timer);
            resolve(m.data as T);
          } else if (m.type === 'error') {
            clearTimeout(timer);
            reject(new Error(`worker ${i} failed: ${m.message}`));
          }
        });
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`worker ${i} exited with ${code} without a result`));
        });
      }),
    );
  }
  for (const o of outcomes) o.catch(() => {});
  await Promise.all(readies);
  return {
    processes,
    go(payload) {
      for (const p of processes) p.send({ type: 'go', payload });
    },
    results: () => Promise.all(outcomes),
    kill() {
      for (const p of processes) if (p.exitCode === null) p.kill('SIGKILL');
    },
  };
}
