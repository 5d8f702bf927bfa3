import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster, type ClusterOptions, Redis } from 'ioredis';
import { freePort } from './ports.js';

const run = promisify(execFile);

/** One redis-server process of a test cluster or sentinel setup. */
export interface RedisNode {
  readonly port: number;
  readonly pid: number | undefined;
  /** A plain (non-cluster) client to this node; closed by the owner's stop(). */
  client(): Redis;
  kill(): Promise<void>;
  restart(): Promise<void>;
  pause(): void;
  resume(): void;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

async function waitForPing(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const probe = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
    });
    probe.on('error', () => {});
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') return;
    } catch {
      // not up yet
    } finally {
      probe.disconnect();
    }
    if (Date.now() > deadline) throw new Error(`redis node on port ${port} did not answer`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Spawns a redis-server with `args` (port appended) in `dir`; restartable on the same port. */
export async function spawnRedisNode(
  dir: string,
  args: string[],
  clients: Set<Redis>,
  port?: number,
): Promise<RedisNode> {
  const nodePort = port ?? (await freePort());
  mkdirSync(dir, { recursive: true });
  let child: ChildProcess | undefined;
  const launch = async () => {
    const proc = spawn(
      'redis-server',
      [
        ...args,
        '--port',
        String(nodePort),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--protected-mode',
        'no',
        '--loglevel',
        'warning',
      ],
      { stdio: 'ignore' },
    );
    live.add(proc);
    proc.once('exit', () => live.delete(proc));
    child = proc;
    await waitForPing(nodePort, 10_000);
  };
  await launch();
  const stopChild = async (signal: NodeJS.Signals) => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGCONT');
    proc.kill(signal);
    await gone;
  };
  return {
    port: nodePort,
    get pid() {
      return child?.pid;
    },
    client() {
      const c = new Redis({ port: nodePort, host: '127.0.0.1' });
      c.on('error', () => {});
      clients.add(c);
      return c;
    },
    kill: () => stopChild('SIGKILL'),
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

/** A Redis Cluster of real redis-server processes on loopback. */
export interface RedisClusterFixture {
  readonly masters: RedisNode[];
  readonly replicas: RedisNode[];
  /** Seed nodes for `new Cluster(...)`. */
  readonly startupNodes: Array<{ host: string; port: number }>;
  /** An ioredis Cluster client; closed by {@link stop}. */
  client(options?: ClusterOptions): Cluster;
  /** Waits until every live node reports cluster_state:ok and all slots are served. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts `masters` cluster-enabled redis-servers (plus `replicasPerMaster`
 * replicas each) on free loopback ports, with explicit bus ports, and joins
 * them with `redis-cli --cluster create`.
 */
export async function startRedisCluster(
  options: { masters?: number; replicasPerMaster?: number; nodeTimeoutMs?: number } = {},
): Promise<RedisClusterFixture> {
  const masters = options.masters ?? 3;
  const replicasPerMaster = options.replicasPerMaster ?? 0;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1000;
  const root = mkdtempSync(join(tmpdir(), 'scaleout-cluster-'));
  const clients = new Set<Redis>();
  const clusterClients = new Set<Cluster>();
  const total = masters * (1 + replicasPerMaster);
  const nodes: RedisNode[] = [];
  for (let i = 0; i < total; i++) {
    const busPort = await freePort();
    nodes.push(
      await spawnRedisNode(
        join(root, `node-${i}`),
        [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-node-timeout',
          String(nodeTimeoutMs),
          '--cluster-port',
          String(busPort),
          '--cluster-replica-validity-factor',
          '0',
          '--save',
          '',
          '--appendonly',
          'no',
        ],
        clients,
      ),
    );
  }
  await run('redis-cli', [
    '--cluster',
    'create',
    ...nodes.map((n) => `127.0.0.1:${n.port}`),
    '--cluster-replicas',
    String(replicasPerMaster),
    '--cluster-yes',
  ]);

  const fixture: RedisClusterFixture = {
    // redis-cli assigns the first `masters` addresses as masters.
    masters: nodes.slice(0, masters),
    replicas: nodes.slice(masters),
    startupNodes: nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
    client(clusterOptions?: ClusterOptions) {
      const c = new Cluster(fixture.startupNodes, { ...clusterOptions });
      c.on('error', () => {});
      clusterClients.add(c);
      return c;
    },
    async waitHealthy(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        let healthy = true;
        for (const node of nodes) {
          if (node.pid === undefined) continue;
          const probe = new Redis({
            port: node.port,
            host: '127.0.0.1',
            lazyConnect: true,
            retryStrategy: () => null,
          });
          probe.on('error', () => {});
          try {
            await probe.connect();
            const info = await probe.cluster('INFO');
            if (!/cluster_state:ok/.test(info) || !/cluster_slots_ok:16384/.test(info)) healthy = false;
          } catch {
            healthy = false;
          } finally {
            probe.disconnect();
          }
          if (!healthy) break;
        }
        if (healthy) return;
        if (Date.now() > deadline) throw new Error('redis cluster did not become healthy');
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      for (const c of clusterClients) c.disconnect();
      for (const c of clients) c.disconnect();
      await Promise.all(nodes.map((n) => n.kill()));
      rmSync(root, { recursive: true, force: true });
    },
  };
  await fixture.waitHealthy();
  return fixture;
}
