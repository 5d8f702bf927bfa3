import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { Redis, type RedisOptions } from 'ioredis';
import { freePort } from './ports.js';

/** One redis-server process on a loopback port; restartable on the same port. */
export interface RedisNode {
  readonly port: number;
  /** Process id of the current server process (undefined while down). */
  readonly pid: number | undefined;
  /** A plain client to this node; closed by the owner's stop(). */
  client(options?: RedisOptions): Redis;
  /** SIGKILL the server (a crash). */
  kill(): Promise<void>;
  /** SIGTERM the server (a clean shutdown). */
  terminate(): Promise<void>;
  /** Start the server again on the same port (after kill or terminate). */
  restart(): Promise<void>;
  /** SIGSTOP: the server stops answering but keeps its sockets. */
  pause(): void;
  /** SIGCONT after {@link pause}. */
  resume(): void;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

let checked = false;
function assertInstalled(): void {
  if (checked) return;
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    checked = true;
  } catch {
    throw new Error(
      'redis-server is not installed: run `npm test` (it installs it) or `apt-get install redis-server`',
    );
  }
}

/** Resolves when a raw PING on `port` gets +PONG. */
function waitForPong(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.once('data', (data) => {
        socket.destroy();
        if (data.toString().startsWith('+PONG')) resolve();
        else retry();
      });
      socket.once('error', () => {
        socket.destroy();
        retry();
      });
    };
    const retry = () => {
      if (Date.now() > deadline) reject(new Error(`redis-server did not answer on port ${port}`));
      else setTimeout(attempt, 20);
    };
    attempt();
  });
}

/**
 * Spawns `redis-server` with `args` in `dir` on `port` (a free one if
 * omitted), bound to 127.0.0.1, and waits until it answers PING. Fails fast
 * with the server's own output if it exits during start-up (port taken, bad
 * config). Clients made by `client()` are added to `clients` for the owner
 * to close.
 */
export async function spawnRedisNode(options: {
  dir: string;
  args: string[];
  clients: Set<Redis>;
  port?: number;
}): Promise<RedisNode> {
  assertInstalled();
  const port = options.port ?? (await freePort());
  mkdirSync(options.dir, { recursive: true });
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const proc = spawn(
      'redis-server',
      [
        ...options.args,
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        options.dir,
        '--protected-mode',
        'no',
        '--loglevel',
        'warning',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    const collect = (d: Buffer) => {
      output = (output + d.toString()).slice(-2000);
    };
    proc.stdout?.on('data', collect);
    proc.stderr?.on('data', collect);
    live.add(proc);
    const exited = new Promise<never>((_, reject) => {
      proc.once('exit', (code) => {
        live.delete(proc);
        reject(new Error(`redis-server exited with ${code}: ${output.slice(-500)}`));
      });
    });
    exited.catch(() => {});
    await Promise.race([waitForPong(port, 10_000), exited]);
    child = proc;
  };

  const stopChild = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGCONT');
    proc.kill(signal);
    await gone;
  };

  await launch();
  return {
    port,
    get pid() {
      return child?.pid;
    },
    client(clientOptions?: RedisOptions) {
      const c = new Redis({ host: '127.0.0.1', port, ...clientOptions });
      c.on('error', () => {});
      options.clients.add(c);
      return c;
    },
    kill: () => stopChild('SIGKILL'),
    terminate: () => stopChild('SIGTERM'),
    async restart() {
      await stopChild('SIGKILL');
      await launch();
    },
    pause() {
      child?.kill('SIGSTOP');
    },
    resume() {
      child?.kill('SIGCONT');
    },
  };
}
