import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { freePort } from './ports.js';

/** A real redis-server on a loopback port, owned by one test file. */
export interface RedisServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly url: string;
  /** Process id of the current server process. */
  readonly pid: number | undefined;
  /** A new client to this server; closed by {@link stop}. */
  client(options?: RedisOptions): Redis;
  /** SIGKILL the server (a crash). */
  kill(): Promise<void>;
  /** Start the server again on the same port (after kill or stop). */
  restart(): Promise<void>;
  /** SIGSTOP: the server stops answering but keeps its sockets. */
  pause(): void;
  /** SIGCONT after {@link pause}. */
  resume(): void;
  /** Stop the server and close every client made by {@link client}. */
  stop(): Promise<void>;
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

function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.write('PING\r\n');
      });
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
 * Starts redis-server on an ephemeral loopback port with no persistence
 * (or with AOF when `persist` is set, so data survives {@link RedisServer.restart}).
 */
export async function startRedisServer(
  options: { persist?: boolean; args?: string[] } = {},
): Promise<RedisServer> {
  assertInstalled();
  const dir = mkdtempSync(join(tmpdir(), 'scaleout-redis-'));
  const clients = new Set<Redis>();
  let child: ChildProcess | undefined;
  let port = 0;

  const launch = async (): Promise<void> => {
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      options.persist ? 'yes' : 'no',
      '--appendfsync',
      'always',
      '--dir',
      dir,
      '--protected-mode',
      'no',
      '--loglevel',
      'warning',
      ...(options.args ?? []),
    ];
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    proc.stdout?.on('data', (d) => {
      output += d;
    });
    proc.stderr?.on('data', (d) => {
      output += d;
    });
    live.add(proc);
    const exited = new Promise<never>((_, reject) => {
      proc.once('exit', (code) => {
        live.delete(proc);
        reject(new Error(`redis-server exited with ${code}: ${output.slice(-500)}`));
      });
    });
    exited.catch(() => {});
    await Promise.race([waitForPort(port, 10_000), exited]);
    child = proc;
  };

  for (let tries = 0; ; tries++) {
    port = await freePort();
    try {
      await launch();
      break;
    } catch (err) {
      if (tries >= 4) throw err;
    }
  }

  const killChild = async (signal: NodeJS.Signals) => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null) return;
    const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGCONT');
    proc.kill(signal);
    await gone;
  };

  return {
    host: '127.0.0.1',
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child?.pid;
    },
    client(clientOptions?: RedisOptions) {
      const client = new Redis({ host: '127.0.0.1', port, lazyConnect: false, ...clientOptions });
      client.on('error', () => {});
      clients.add(client);
      return client;
    },
    kill: () => killChild('SIGKILL'),
    async restart() {
      await killChild('SIGKILL');
      await launch();
    },
    pause() {
      child?.kill('SIGSTOP');
    },
    resume() {
      child?.kill('SIGCONT');
    },
    async stop() {
      for (const c of clients) c.disconnect();
      clients.clear();
      await killChild('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
