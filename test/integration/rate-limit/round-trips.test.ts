import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisRateLimitAdapter } from '../../../src/adapters/redis/rate-limit.js';
import { RateLimiter } from '../../../src/rate-limit/rate-limiter.js';
import { uniquePrefix } from '../../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';
import { until } from '../../helpers/wait.js';

/** Records the name of every command `client` sends. */
function countCommands(client: Redis): { sent: string[]; restore(): void } {
  const sent: string[] = [];
  const original = client.sendCommand.bind(client);
  client.sendCommand = ((command: { name: string }, stream?: unknown) => {
    sent.push(command.name);
    return original(command as never, stream as never);
  }) as typeof client.sendCommand;
  return { sent, restore: () => (client.sendCommand = original) };
}

describe('one round trip per decision (real redis-server)', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('two limits, 100 consumes: 100 EVALSHA sent, as MONITOR also sees; the script reads and writes inside', async () => {
    const client = server.client();
    await client.ping(); // connected (the handshake's CLIENT/INFO commands are not ours)
    const limiter = new RateLimiter({
      adapter: redisRateLimitAdapter({ connection: client, prefix: uniquePrefix('rt') }),
      limits: [
        { limit: 1_000, windowMs: 1_000 },
        { limit: 100_000, windowMs: 3_600_000, algorithm: 'sliding-window' },
      ],
    });
    // The first call meets NOSCRIPT and sends the script once (EVALSHA, then EVAL).
    const counter = countCommands(client);
    await limiter.consume('warm-up');
    expect(counter.sent).toEqual(['evalsha', 'eval']);
    counter.sent.length = 0;

    const monitor = await server.client().monitor();
    const seen: Array<{ source: string; command: string }> = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      seen.push({ source, command: String(args[0]).toLowerCase() });
    });
    const myPort = (client as unknown as { stream: { localPort: number } }).stream.localPort;
    for (let i = 0; i < 100; i++) {
      const decision = await limiter.consume(`user-${i % 7}`);
      expect(decision.allowed).toBe(true);
      expect(decision.policies).toHaveLength(2);
    }
    await limiter.peek('user-1');
    await limiter.refund('user-1');
    expect(counter.sent).toEqual(Array(102).fill('evalsha'));
    await until('MONITOR to catch up', () => seen.filter((s) => s.source !== 'lua').length >= 102);
    const fromClient = seen.filter((s) => s.source.endsWith(`:${myPort}`));
    expect(fromClient.map((s) => s.command)).toEqual(Array(102).fill('evalsha'));
    // Inside the script, per consume: TIME, a GET per limit, a SET per limit (not round trips).
    const insideScript = seen.filter((s) => s.source === 'lua').map((s) => s.command);
    expect(insideScript.slice(0, 5)).toEqual(['time', 'get', 'get', 'set', 'set']);
    monitor.disconnect();
    counter.restore();
    await limiter.close();
  });

  it('one GCRA limit (the default), 100 consumes: 100 EVALSHA of the lean script; inside it TIME, GET, SET', async () => {
    const client = server.client();
    await client.ping();
    const limiter = new RateLimiter({
      adapter: redisRateLimitAdapter({ connection: client, prefix: uniquePrefix('rt1') }),
      limits: { limit: 1_000, windowMs: 1_000 },
    });
    await limiter.consume('warm-up');
    const counter = countCommands(client);
    const monitor = await server.client().monitor();
    const seen: Array<{ source: string; command: string }> = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      seen.push({ source, command: String(args[0]).toLowerCase() });
    });
    for (let i = 0; i < 100; i++) {
      const decision = await limiter.consume(`user-${i % 7}`);
      expect(decision).toMatchObject({ allowed: true, limit: 1_000, retryAfterMs: 0, source: 'adapter' });
      expect(decision.policies).toHaveLength(1);
    }
    expect(counter.sent).toEqual(Array(100).fill('evalsha'));
    await until('MONITOR to catch up', () => seen.filter((s) => s.source === 'lua').length >= 300);
    const insideScript = seen.filter((s) => s.source === 'lua').map((s) => s.command);
    expect(insideScript.slice(0, 6)).toEqual(['time', 'get', 'set', 'time', 'get', 'set']);
    monitor.disconnect();
    counter.restore();
    await limiter.close();
  });
});
