import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RabbitNode, spawnRabbitNode } from './rabbitmq-node.js';

export type { RabbitNode };

/** A RabbitMQ cluster of private nodes on loopback (never the shared broker on 5672). */
export interface RabbitMqCluster {
  readonly nodes: readonly RabbitNode[];
  /** Every node's AMQP URL, in node order. */
  readonly urls: readonly string[];
  /** Kills every node and deletes every data directory. */
  stop(): Promise<void>;
}

const clusters = new Set<string>();
process.once('exit', () => {
  // The nodes themselves are killed by rabbitmq-node.ts's own exit hook.
  for (const dir of clusters) rmSync(dir, { recursive: true, force: true });
});

/**
 * Boots `size` RabbitMQ nodes (own node names, AMQP and distribution ports,
 * data directories; one shared Erlang cookie) in parallel, then joins the
 * others to the first with `rabbitmqctl stop_app / join_cluster / start_app`.
 * `config` lines go into every node's rabbitmq.conf.
 */
export async function startRabbitMqCluster(
  options: { size?: number; config?: string[] } = {},
): Promise<RabbitMqCluster> {
  const size = options.size ?? 3;
  const root = mkdtempSync(join(tmpdir(), 'scaleout-rabbit-cluster-'));
  clusters.add(root);
  writeFileSync(join(root, '.erlang.cookie'), randomBytes(20).toString('hex').toUpperCase(), { mode: 0o400 });
  const tag = randomBytes(4).toString('hex');
  const started: RabbitNode[] = [];
  const stop = async () => {
    await Promise.all(started.map((n) => n.kill()));
    rmSync(root, { recursive: true, force: true });
    clusters.delete(root);
  };
  try {
    const boots = Array.from({ length: size }, (_, i) =>
      spawnRabbitNode({
        dir: join(root, `node-${i + 1}`),
        home: root,
        name: `scaleout_${tag}_${i + 1}`,
        config: options.config,
      }).then((node) => {
        started.push(node);
        return node;
      }),
    );
    const settled = await Promise.allSettled(boots);
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    const nodes = settled.map((s) => (s as PromiseFulfilledResult<RabbitNode>).value);
    const [first, ...others] = nodes;
    await Promise.all(others.map((node) => node.ctl('stop_app')));
    for (const node of others) await node.ctl('join_cluster', first!.nodeName);
    await Promise.all(others.map((node) => node.ctl('start_app')));
    const status = await first!.ctl('cluster_status', '--formatter', 'json');
    const running = (JSON.parse(status) as { running_nodes?: string[] }).running_nodes ?? [];
    if (running.length !== size) throw new Error(`cluster formed with ${running.length} of ${size} nodes`);
    return { nodes, urls: nodes.map((n) => n.url), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
