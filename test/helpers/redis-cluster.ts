import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Cluster } from 'ioredis';
import { type RedisServer, startRedisServer } from './redis-server.js';

const run = promisify(execFile);

/** A real 3-master Redis Cluster on loopback (no replicas), owned by one test file. */
export interface RedisClusterHandle {
  readonly nodes: readonly RedisServer[];
  /** A new ioredis Cluster client; closed by {@link stop}. */
  client(): Cluster;
  stop(): Promise<void>;
}

/** Starts three cluster-enabled redis-servers and joins them with `redis-cli --cluster create`. */
export async function startRedisCluster(): Promise<RedisClusterHandle> {
  const nodes: RedisServer[] = [];
  for (let i = 0; i < 3; i++) {
    nodes.push(
      await startRedisServer({
        args: [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          `nodes-${i}.conf`,
          '--cluster-node-timeout',
          '2000',
        ],
      }),
    );
  }
  await run('redis-cli', [
    '--cluster',
    'create',
    ...nodes.map((n) => `127.0.0.1:${n.port}`),
    '--cluster-replicas',
    '0',
    '--cluster-yes',
  ]);
  const probe = nodes[0]!.client();
  for (let i = 0; i < 100; i++) {
    const info = await probe.cluster('INFO');
    if (String(info).includes('cluster_state:ok')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const clients = new Set<Cluster>();
  return {
    nodes,
    client() {
      const c = new Cluster(
        nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
        { redisOptions: { maxRetriesPerRequest: 2 } },
      );
      c.on('error', () => {});
      clients.add(c);
      return c;
    },
    async stop() {
      for (const c of clients) c.disconnect();
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}
