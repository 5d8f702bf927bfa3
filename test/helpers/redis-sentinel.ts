import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { freePort } from './ports.js';
import { type RedisNode, spawnRedisNode } from './redis-node.js';

/** A master, its replica and three sentinels on loopback. */
export interface RedisSentinelFixture {
  /** The name the sentinels monitor. */
  readonly masterName: string;
  /** The two data nodes; which is master changes on failover. */
  readonly dataNodes: RedisNode[];
  readonly sentinels: RedisNode[];
  /** Seed list for ioredis `{ sentinels, name }`. */
  readonly sentinelAddresses: Array<{ host: string; port: number }>;
  /** An ioredis client that finds the master through the sentinels; closed by {@link stop}. */
  client(options?: RedisOptions): Redis;
  /** Port of the node the sentinels currently call master. */
  masterPort(): Promise<number>;
  /** Asks the sentinels to fail over and waits until a different node is master and writable. */
  failover(timeoutMs?: number): Promise<number>;
  stop(): Promise<void>;
}

export async function startRedisSentinel(
  options: { downAfterMs?: number } = {},
): Promise<RedisSentinelFixture> {
  const masterName = 'scaleout-test';
  const downAfterMs = options.downAfterMs ?? 1000;
  const root = mkdtempSync(join(tmpdir(), 'scaleout-sentinel-'));
  const clients = new Set<Redis>();
  const common = ['--save', '', '--appendonly', 'no'];
  const master = await spawnRedisNode({ dir: join(root, 'master'), args: common, clients });
  const replica = await spawnRedisNode({
    dir: join(root, 'replica'),
    args: [...common, '--replicaof', '127.0.0.1', String(master.port)],
    clients,
  });
  const sentinels: RedisNode[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const dir = join(root, `sentinel-${i}`);
    const conf = join(root, `sentinel-${i}.conf`);
    writeFileSync(
      conf,
      [
        `sentinel monitor ${masterName} 127.0.0.1 ${master.port} 2`,
        `sentinel down-after-milliseconds ${masterName} ${downAfterMs}`,
        `sentinel failover-timeout ${masterName} 4000`,
        `sentinel parallel-syncs ${masterName} 1`,
        'sentinel announce-ip 127.0.0.1',
        '',
      ].join('\n'),
    );
    sentinels.push(await spawnRedisNode({ dir, args: [conf, '--sentinel'], clients, port }));
  }
  const sentinelAddresses = sentinels.map((s) => ({ host: '127.0.0.1', port: s.port }));
  const dataNodes = [master, replica];

  const askMaster = async (): Promise<number> => {
    for (const s of sentinels) {
      if (s.pid === undefined) continue;
      const c = new Redis({ port: s.port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null });
      c.on('error', () => {});
      try {
        await c.connect();
        const addr = (await c.call('SENTINEL', 'get-master-addr-by-name', masterName)) as
          | [string, string]
          | null;
        if (addr) return Number(addr[1]);
      } catch {
        // try the next sentinel
      } finally {
        c.disconnect();
      }
    }
    throw new Error('no sentinel answered');
  };

  const waitFor = async (check: () => Promise<boolean>, timeoutMs: number, what: string) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await check().catch(() => false)) return;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const isWritableMaster = async (port: number) => {
    const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null });
    c.on('error', () => {});
    try {
      await c.connect();
      const role = (await c.role()) as [string, ...unknown[]];
      return role[0] === 'master';
    } finally {
      c.disconnect();
    }
  };

  // The sentinels must know the replica and each other before a failover can work.
  await waitFor(
    async () => {
      const c = new Redis({
        port: sentinels[0]!.port,
        host: '127.0.0.1',
        lazyConnect: true,
        retryStrategy: () => null,
      });
      c.on('error', () => {});
      try {
        await c.connect();
        const replicas = (await c.call('SENTINEL', 'replicas', masterName)) as unknown[];
        const others = (await c.call('SENTINEL', 'sentinels', masterName)) as unknown[];
        return replicas.length >= 1 && others.length >= 2;
      } finally {
        c.disconnect();
      }
    },
    20_000,
    'sentinels to discover the replica and each other',
  );

  return {
    masterName,
    dataNodes,
    sentinels,
    sentinelAddresses,
    client(clientOptions?: RedisOptions) {
      const c = new Redis({ sentinels: sentinelAddresses, name: masterName, ...clientOptions });
      c.on('error', () => {});
      clients.add(c);
      return c;
    },
    masterPort: askMaster,
    async failover(timeoutMs = 20_000) {
      const before = await askMaster();
      // Wait until the replica is in sync, or the failover has nothing to promote.
      await waitFor(
        async () => {
          const r = new Redis({ port: dataNodes.find((n) => n.port !== before)!.port, host: '127.0.0.1' });
          r.on('error', () => {});
          try {
            return /master_link_status:up/.test(await r.info('replication'));
          } finally {
            r.disconnect();
          }
        },
        timeoutMs,
        'replica link up',
      );
      const s = new Redis({ port: sentinels[0]!.port, host: '127.0.0.1' });
      s.on('error', () => {});
      try {
        await s.call('SENTINEL', 'failover', masterName);
      } finally {
        s.disconnect();
      }
      let after = before;
      await waitFor(
        async () => {
          after = await askMaster();
          return after !== before && (await isWritableMaster(after));
        },
        timeoutMs,
        'failover to a new master',
      );
      return after;
    },
    async stop() {
      for (const c of clients) c.disconnect();
      await Promise.all([...sentinels, ...dataNodes].map((n) => n.kill()));
      rmSync(root, { recursive: true, force: true });
    },
  };
}
