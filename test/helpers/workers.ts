/**
 * The parent side of the multi-process test harness. A worker is a
 * TypeScript file forked with `node --import tsx` that calls `workerMain`
 * from `test/helpers/worker-main.ts`. The protocol, over Node's IPC channel:
 *
 * - worker -> parent: `ready` once, then any number of `message`s, then one
 *   `result` (or `error`) just before it exits;
 * - parent -> worker: `go` once (the start barrier), and any number of
 *   `message`s.
 *
 * Short workers just return a result ({@link startWorkers} + `results()`).
 * Long-lived workers also exchange typed messages with the parent
 * ({@link WorkerProcess.send} / {@link WorkerProcess.next}) and are stopped
 * with a message or a signal ({@link WorkerProcess.stop}).
 * @module
 */
import { type ChildProcess, fork } from 'node:child_process';
import { basename } from 'node:path';

/** Messages a worker process sends to the parent with `process.send`. */
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'message'; data: unknown }
  | { type: 'result'; data: unknown }
  | { type: 'error'; message: string };

/** Messages the parent sends to a worker process. */
export type ParentMessage = { type: 'go'; payload?: unknown } | { type: 'message'; data: unknown };

/** How a worker process ended. */
export interface WorkerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Options of {@link startWorker} and {@link startWorkers}. */
export interface WorkerOptions {
  /** Extra environment variables (on top of this process's). */
  env?: Record<string, string>;
  /**
   * How long, in ms, to wait for `ready`, and the default wait of
   * `result()` / `results()` (a worker without a result by then is killed).
   * @default 60_000
   */
  timeoutMs?: number;
  /** The default wait, in ms, of {@link WorkerProcess.next}. @default 30_000 */
  messageTimeoutMs?: number;
}

/** Options of {@link startWorker}: those of {@link WorkerOptions}, plus the worker's identity. */
export interface SingleWorkerOptions extends WorkerOptions {
  /** `WORKER_INDEX` in the worker's env, and part of its name. @default 0 */
  index?: number;
  /** `WORKER_COUNT` in the worker's env. @default 1 */
  count?: number;
  /** The name errors use. @default `<script file name>#<index>` */
  name?: string;
}

/**
 * One running worker process. `Result` is what its body returns, `Out` the
 * messages it sends, `In` the messages it receives.
 *
 * @example
 * const w = await startWorker<{ closed: true }, Reply, Command>(script, { env: { REDIS_URL } });
 * w.go();
 * w.send({ cmd: 'get', key: 'a' });
 * const reply = await w.next((m) => m.type === 'get');
 * w.send({ cmd: 'close' });
 * await w.result();
 */
export interface WorkerProcess<Result = unknown, Out = unknown, In = unknown> {
  /** The name errors use (`<script>#<index>` unless given). */
  readonly name: string;
  readonly process: ChildProcess;
  /** Every message the worker has sent so far, in order (taking one with `next` does not remove it here). */
  readonly messages: readonly Out[];
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<WorkerExit>;
  /** Releases the worker from its start barrier; `payload` is its body's first argument. */
  go(payload?: unknown): void;
  /** Sends a message the worker reads with `receive`. Throws if the worker is gone. */
  send(message: In): void;
  /**
   * Takes the first message not taken yet (already received or to come) that
   * matches `match` (any message if omitted). Rejects, naming the worker, if
   * it fails, exits or `timeoutMs` passes first.
   */
  next<M extends Out>(match: (m: Out) => m is M, timeoutMs?: number): Promise<M>;
  next(match?: (m: Out) => boolean, timeoutMs?: number): Promise<Out>;
  /**
   * The worker's result. Rejects, naming the worker, if it fails or exits
   * without one, or after `timeoutMs` (then the worker is killed).
   */
  result(timeoutMs?: number): Promise<Result>;
  /**
   * Sends `signal` (unless the process has already exited) and waits for the
   * exit; after `graceMs` it sends SIGKILL.
   */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<WorkerExit>;
}

/** A handle on the worker processes started by {@link startWorkers}. */
export interface Workers<T, Out = unknown, In = unknown> {
  readonly processes: ChildProcess[];
  /** The workers, in start order (`WORKER_INDEX`). */
  readonly workers: ReadonlyArray<WorkerProcess<T, Out, In>>;
  /** Releases every worker at once (they wait for `go` after sending `ready`). */
  go(payload?: unknown): void;
  /** Resolves with each worker's result, in start order; rejects if any fails or times out. */
  results(): Promise<T[]>;
  /** Sends a message to worker `i` (see {@link WorkerProcess.send}). */
  send(i: number, message: In): void;
  /** Takes the next matching message from worker `i` (see {@link WorkerProcess.next}). */
  next<M extends Out>(i: number, match: (m: Out) => m is M, timeoutMs?: number): Promise<M>;
  next(i: number, match?: (m: Out) => boolean, timeoutMs?: number): Promise<Out>;
  /** SIGKILL every worker still running. */
  kill(): void;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

const STDERR_TAIL = 2000;

/**
 * Forks one worker process running the TypeScript file `script` (through
 * tsx) and resolves once it has reported ready (its top-level setup is done
 * and it waits for {@link WorkerProcess.go}). Rejects, naming the worker, if
 * it exits or does not report ready within `timeoutMs`.
 *
 * @example
 * const instance = await startWorker<Stopped, InstanceEvent>(script, { env: { PORT: '0' } });
 * instance.go();
 * const { url } = await instance.next((m) => m.event === 'registered');
 * await instance.stop('SIGKILL'); // a crash
 */
export async function startWorker<Result = unknown, Out = unknown, In = unknown>(
  script: string,
  options: SingleWorkerOptions = {},
): Promise<WorkerProcess<Result, Out, In>> {
  const index = options.index ?? 0;
  const name = options.name ?? `${basename(script)}#${index}`;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const messageTimeoutMs = options.messageTimeoutMs ?? 30_000;
  const child = fork(script, [], {
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      ...options.env,
      WORKER_INDEX: String(index),
      WORKER_COUNT: String(options.count ?? 1),
    },
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  live.add(child);

  const messages: Out[] = [];
  const unread: Out[] = [];
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of [...waiters]) w();
  };
  let ready = false;
  let result: { data: Result } | undefined;
  let failure: string | undefined;
  let exit: WorkerExit | undefined;
  let stderr = '';

  child.stderr!.on('data', (chunk: Buffer) => {
    process.stderr.write(chunk);
    stderr = (stderr + chunk.toString()).slice(-STDERR_TAIL);
  });
  child.on('message', (m: WorkerMessage) => {
    if (m.type === 'ready') ready = true;
    else if (m.type === 'message') {
      messages.push(m.data as Out);
      unread.push(m.data as Out);
    } else if (m.type === 'result') result = { data: m.data as Result };
    else if (m.type === 'error') failure = m.message;
    wake();
  });
  const exited = new Promise<WorkerExit>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      exit = { code, signal };
      resolve(exit);
      wake();
    });
  });

  const tail = () => (stderr === '' ? '' : `; stderr: ${stderr.slice(-800)}`);
  /** Rejects with the worker's failure or exit, if any. */
  const ended = (what: string): undefined => {
    if (failure !== undefined) throw new Error(`worker ${name} failed before ${what}: ${failure}`);
    if (exit !== undefined) {
      const how = exit.signal !== null ? `signal ${exit.signal}` : `code ${exit.code}`;
      throw new Error(`worker ${name} exited with ${how} before ${what}${tail()}`);
    }
    return undefined;
  };
  /** Resolves with `check()`'s first defined value, re-checked on every event of the worker. */
  const until = <V>(what: string, ms: number, check: () => V | undefined, onTimeout?: () => void) =>
    new Promise<V>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        waiters.delete(attempt);
      };
      const attempt = () => {
        try {
          const value = check();
          if (value === undefined) return;
          done();
          resolve(value);
        } catch (err) {
          done();
          reject(err);
        }
      };
      const timer = setTimeout(() => {
        done();
        onTimeout?.();
        reject(new Error(`worker ${name} timed out after ${ms} ms waiting for ${what}${tail()}`));
      }, ms);
      waiters.add(attempt);
      attempt();
    });

  await until(
    'ready',
    timeoutMs,
    () => (ready ? true : ended('ready')),
    () => child.kill('SIGKILL'),
  );

  const next = (match: (m: Out) => boolean = () => true, ms = messageTimeoutMs) => {
    const what = `a message matching ${String(match).replace(/\s+/g, ' ').slice(0, 200)}`;
    return until(what, ms, () => {
      const i = unread.findIndex(match);
      if (i !== -1) return { message: unread.splice(i, 1)[0] as Out };
      return ended(what);
    }).then((box) => box.message);
  };
  return {
    name,
    process: child,
    messages,
    exited,
    go(payload) {
      child.send({ type: 'go', payload } satisfies ParentMessage);
    },
    send(message) {
      if (exit !== undefined || !child.connected) throw new Error(`worker ${name} is gone; cannot send`);
      child.send({ type: 'message', data: message } satisfies ParentMessage);
    },
    next: next as WorkerProcess<Result, Out, In>['next'],
    result(ms = timeoutMs) {
      return until(
        'its result',
        ms,
        () => result ?? ended('its result'),
        () => child.kill('SIGKILL'),
      ).then((r) => r.data);
    },
    async stop(signal = 'SIGTERM', graceMs = 10_000) {
      if (exit !== undefined) return exit;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const how = await exited;
      clearTimeout(timer);
      return how;
    },
  };
}

/**
 * Forks `count` Node processes running the TypeScript file `script` (through
 * tsx), each with `WORKER_INDEX` and the given env. A worker script calls
 * `workerMain(async (go, channel) => result)` from `test/helpers/worker-main.ts`:
 * it reports ready, waits for the parent's {@link Workers.go} (a start
 * barrier, so all processes contend at the same moment), runs (exchanging
 * messages with the parent through {@link Workers.send} / {@link Workers.next}
 * if it wants to), and sends its result.
 *
 * @example
 * const workers = await startWorkers<{ pid: number }>(script, 4, { env: { REDIS_URL } });
 * workers.go();
 * const results = await workers.results();
 */
export async function startWorkers<T, Out = unknown, In = unknown>(
  script: string,
  count: number,
  options: WorkerOptions = {},
): Promise<Workers<T, Out, In>> {
  const started = await Promise.allSettled(
    Array.from({ length: count }, (_, index) =>
      startWorker<T, Out, In>(script, { ...options, index, count }),
    ),
  );
  const workers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed !== undefined) {
    for (const w of workers) w.process.kill('SIGKILL');
    throw failed.reason;
  }
  return {
    processes: workers.map((w) => w.process),
    workers,
    go(payload) {
      for (const w of workers) w.go(payload);
    },
    results: () => Promise.all(workers.map((w) => w.result())),
    send: (i, message) => workers[i]!.send(message),
    next: ((i: number, match?: (m: Out) => boolean, timeoutMs?: number) =>
      workers[i]!.next(match, timeoutMs)) as Workers<T, Out, In>['next'],
    kill() {
      for (const w of workers) if (w.process.exitCode === null) w.process.kill('SIGKILL');
    },
  };
}
