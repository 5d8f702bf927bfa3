import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis, RedisOptions } from 'ioredis';
import { type RedisNode, spawnRedisNode } from './redis-node.js';

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

/**
 * Starts redis-server on an ephemeral loopback port with no persistence
 * (or with AOF when `persist` is set, so data survives {@link RedisServer.restart}).
 */
export async function startRedisServer(
  options: { persist?: boolean; args?: string[] } = {},
): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'scaleout-redis-'));
  const clients = new Set<Redis>();
  const args = [
    '--save',
    '',
    '--appendonly',
    options.persist ? 'yes' : 'no',
    '--appendfsync',
    'always',
    ...(options.args ?? []),
  ];
  let node: RedisNode | undefined;
  // A free port can be taken between the probe and the bind: try a few.
  for (let tries = 0; node === undefined; tries++) {
    try {
      node = await spawnRedisNode({ dir, args, clients });
    } catch (err) {
      if (tries >= 4) throw err;
    }
  }
  const server = node;
  return {
    host: '127.0.0.1',
    port: server.port,
    url: `redis://127.0.0.1:${server.port}`,
    get pid() {
      return server.pid;
    },
    client: (clientOptions?: RedisOptions) => server.client(clientOptions),
    kill: () => server.kill(),
    restart: () => server.restart(),
    pause: () => server.pause(),
    resume: () => server.resume(),
    async stop() {
      for (const c of clients) c.disconnect();
      clients.clear();
      await server.terminate();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
