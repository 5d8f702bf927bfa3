import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster, type ClusterOptions, Redis } from 'ioredis';
import { escapeGlob } from '../../src/adapters/redis/keys.js';
import { freePort } from './ports.js';
import { type RedisNode, spawnRedisNode } from './redis-node.js';

export type { RedisNode };

const run = promisify(execFile);

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
      await spawnRedisNode({
        dir: join(root, `node-${i}`),
        args: [
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
      }),
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

/** Deletes every key under `prefix` on every master of `cluster` (SCAN is per node on a Cluster). */
export async function deleteOnEveryMaster(cluster: Cluster, prefix: string): Promise<void> {
  for (const node of cluster.nodes('master')) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 1000);
      cursor = next;
      for (const k of keys) await node.unlink(k);
    } while (cursor !== '0');
  }
}
