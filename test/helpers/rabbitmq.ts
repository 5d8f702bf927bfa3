import { randomBytes } from 'node:crypto';
import { type ChannelModel, connect } from 'amqplib';

/** The RabbitMQ the test command started (guest/guest on loopback), or AMQP_URL. */
export function amqpUrl(): string {
  return process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
}

/** A queue or exchange name no other test uses. */
export function uniqueName(label = 'test'): string {
  return `t.${label}.${randomBytes(6).toString('hex')}`;
}

/**
 * A connection to the test RabbitMQ plus cleanup of the queues and exchanges
 * a test declares through {@link AmqpFixture.track}.
 */
export interface AmqpFixture {
  connection: ChannelModel;
  /** Remember a queue (or exchange, with kind 'exchange') to delete in {@link cleanup}. */
  track(name: string, kind?: 'queue' | 'exchange'): string;
  cleanup(): Promise<void>;
}

export async function connectAmqp(): Promise<AmqpFixture> {
  const connection = await connect(amqpUrl());
  connection.on('error', () => {});
  const tracked: Array<{ name: string; kind: 'queue' | 'exchange' }> = [];
  return {
    connection,
    track(name, kind = 'queue') {
      tracked.push({ name, kind });
      return name;
    },
    async cleanup() {
      const channel = await connection.createChannel();
      for (const { name, kind } of tracked) {
        if (kind === 'queue') await channel.deleteQueue(name);
        else await channel.deleteExchange(name);
      }
      tracked.length = 0;
      await channel.close();
      await connection.close();
    },
  };
}
