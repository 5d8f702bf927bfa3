import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'amqplib';
import { freePort } from './ports.js';

/**
 * A private RabbitMQ node (its own node name, ports and data directory),
 * started as a child process so that tests may kill and restart it. It never
 * touches the shared broker on 5672.
 */
export interface PrivateRabbitMq {
  readonly port: number;
  readonly url: string;
  readonly pid: number | undefined;
  /** SIGKILL the broker (a crash); durable data stays on disk. */
  kill(): Promise<void>;
  /** Start it again on the same ports with the same data. */
  restart(): Promise<void>;
  /** Stop it and delete its data. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  }
});

function serverBinary(): string {
  for (const candidate of ['/usr/lib/rabbitmq/bin/rabbitmq-server', '/usr/sbin/rabbitmq-server']) {
    if (existsSync(candidate)) return candidate;
  }
  return 'rabbitmq-server';
}

async function waitForLogin(url: string, timeoutMs: number, exited: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const why = exited();
    if (why !== undefined) throw new Error(`private rabbitmq exited while booting: ${why}`);
    try {
      const conn = await connect(url);
      conn.on('error', () => {});
      await conn.close();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`private rabbitmq did not accept logins: ${String(err)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Boots a private RabbitMQ node on free loopback ports (~5-10 s). */
export async function startPrivateRabbitMq(): Promise<PrivateRabbitMq> {
  const dir = mkdtempSync(join(tmpdir(), 'scaleout-rabbit-'));
  const name = `scaleout_${randomBytes(4).toString('hex')}`;
  const port = await freePort();
  const distPort = await freePort();
  mkdirSync(join(dir, 'mnesia'), { recursive: true });
  mkdirSync(join(dir, 'log'), { recursive: true });
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
  writeFileSync(
    join(dir, 'rabbitmq.conf'),
    [
      `listeners.tcp.default = 127.0.0.1:${port}`,
      'loopback_users.guest = true',
      'log.console = false',
      'log.file.level = warning',
    ].join('\n'),
  );
  const env = {
    ...process.env,
    HOME: dir,
    RABBITMQ_NODENAME: `${name}@localhost`,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_PID_FILE: join(dir, 'rabbit.pid'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
  };
  const url = `amqp://guest:guest@127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  const launch = async () => {
    const proc = spawn(serverBinary(), [], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    let exit: string | undefined;
    proc.stdout?.on('data', (d) => {
      output = (output + d).slice(-2000);
    });
    proc.stderr?.on('data', (d) => {
      output = (output + d).slice(-2000);
    });
    live.add(proc);
    proc.once('exit', (code, signal) => {
      live.delete(proc);
      exit = `code ${code} signal ${signal}: ${output}`;
    });
    child = proc;
    await waitForLogin(url, 60_000, () => exit);
  };

  const kill = async () => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    // The whole process group: the shell wrapper, beam and its helpers.
    try {
      process.kill(-proc.pid!, 'SIGKILL');
    } catch {
      proc.kill('SIGKILL');
    }
    await gone;
  };

  await launch();
  return {
    port,
    url,
    get pid() {
      return child?.pid;
    },
    kill,
    async restart() {
      await kill();
      await launch();
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
