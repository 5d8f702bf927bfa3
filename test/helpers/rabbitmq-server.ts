import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnRabbitNode } from './rabbitmq-node.js';

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

/** Boots a private RabbitMQ node on free loopback ports (~5-10 s). */
export async function startPrivateRabbitMq(): Promise<PrivateRabbitMq> {
  const dir = mkdtempSync(join(tmpdir(), 'scaleout-rabbit-'));
  try {
    const node = await spawnRabbitNode({
      dir,
      home: dir,
      name: `scaleout_${randomBytes(4).toString('hex')}`,
    });
    return {
      port: node.port,
      url: node.url,
      get pid() {
        return node.pid;
      },
      kill: () => node.kill(),
      restart: () => node.restart(),
      async stop() {
        await node.kill();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
