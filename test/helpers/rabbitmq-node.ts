import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect } from 'amqplib';
import { freePort } from './ports.js';

const run = promisify(execFile);

/**
 * One RabbitMQ node of our own (its own node name, AMQP and distribution
 * ports, data and log directories), started as a child process so that a
 * test may kill and restart it. Never the shared broker on 5672.
 */
export interface RabbitNode {
  /** Erlang node name, `<name>@localhost`. */
  readonly nodeName: string;
  readonly port: number;
  /** `amqp://guest:guest@127.0.0.1:<port>`. */
  readonly url: string;
  /** Process id of the running node (undefined while down). */
  readonly pid: number | undefined;
  /** Whether the node process is running. */
  readonly running: boolean;
  /** SIGKILL the node's process group (a crash); its data stays on disk. */
  kill(): Promise<void>;
  /** Starts it again on the same ports with the same data; resolves when it accepts logins. */
  restart(): Promise<void>;
  /** Runs `rabbitmqctl -n <node> ...args` (with this node's cookie and environment). */
  ctl(...args: string[]): Promise<string>;
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

function binary(name: 'rabbitmq-server' | 'rabbitmqctl'): string {
  // Not /usr/sbin: there the Debian wrapper switches to the rabbitmq user (and its cookie).
  const candidate = `/usr/lib/rabbitmq/bin/${name}`;
  return existsSync(candidate) ? candidate : name;
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

/**
 * Boots one RabbitMQ node in `dir` (created), named `<name>@localhost`, on
 * free loopback ports. `home` holds the Erlang cookie: nodes that share it
 * can be clustered (they all register with the machine's epmd on 4369).
 * `config` lines are added to its rabbitmq.conf.
 */
export async function spawnRabbitNode(options: {
  dir: string;
  home: string;
  name: string;
  config?: string[];
}): Promise<RabbitNode> {
  const { dir, home, name } = options;
  const port = await freePort();
  const distPort = await freePort();
  const nodeName = `${name}@localhost`;
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
      ...(options.config ?? []),
    ].join('\n'),
  );
  const env = {
    ...process.env,
    HOME: home,
    RABBITMQ_NODENAME: nodeName,
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
    // cwd: the node's own directory (Mnesia writes its core dumps there, not in the repo).
    const proc = spawn(binary('rabbitmq-server'), [], {
      cwd: dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
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
    await waitForLogin(url, 90_000, () => exit);
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

  try {
    await launch();
  } catch (err) {
    await kill();
    throw err;
  }
  return {
    nodeName,
    port,
    url,
    get pid() {
      return child?.pid;
    },
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    kill,
    async restart() {
      await kill();
      await launch();
    },
    async ctl(...args: string[]) {
      const { stdout } = await run(binary('rabbitmqctl'), ['-n', nodeName, ...args], {
        cwd: dir,
        env,
        timeout: 60_000,
      });
      return stdout;
    },
  };
}
