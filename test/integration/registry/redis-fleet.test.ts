import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniquePrefix } from '../../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';
import { startWorker, type Worker } from './processes.js';

const TTL_MS = 2000;
const HEARTBEAT_MS = TTL_MS / 3;
// Process scheduling on a shared 2-core machine: slack on top of the promise, not instead of it.
const SLACK_MS = 1500;

describe('ServiceRegistry on real Redis shared by several OS processes', () => {
  let redis: RedisServer;
  const workers: Worker[] = [];
  const env = () => ({ REDIS_URL: redis.url, PREFIX: prefix, SERVICE: 'inventory', TTL_MS: String(TTL_MS) });
  let prefix: string;

  beforeAll(async () => {
    redis = await startRedisServer();
    prefix = uniquePrefix('registry-fleet');
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop('SIGKILL')));
    await redis?.stop();
  });

  function spawnWorker(name: string, extra: Record<string, string> = {}): Worker {
    const w = startWorker(name, { ...env(), ...extra });
    workers.push(w);
    return w;
  }

  const isChange =
    (type: string, url: string, after = 0) =>
    (l: Record<string, unknown>) =>
      l.event === 'change' && l.type === type && l.url === url && (l.at as number) >= after;

  it('every view drops a killed instance within TTL + one heartbeat, a stopped one within 1 s, and sees a restarted one come back', async () => {
    const instances = [spawnWorker('instance'), spawnWorker('instance'), spawnWorker('instance')];
    const urls = (await Promise.all(instances.map((i) => i.waitFor((l) => l.event === 'registered')))).map(
      (l) => l.url as string,
    );
    const watchers = [spawnWorker('watcher'), spawnWorker('watcher'), spawnWorker('watcher')];
    await Promise.all(watchers.map((w) => w.waitFor((l) => l.event === 'ready')));
    for (const w of watchers) {
      for (const url of urls) {
        const ready = w.lines.find((l) => l.event === 'ready')!;
        if (!(ready.urls as string[]).includes(url)) await w.waitFor(isChange('up', url));
      }
    }

    // A crash: nobody deregisters; the lease runs out.
    const killedAt = Date.now();
    await instances[0]!.stop('SIGKILL');
    const killed = await Promise.all(watchers.map((w) => w.waitFor(isChange('down', urls[0]!), 15_000)));
    console.log(
      `killed instance left the views after ${killed.map((l) => (l.at as number) - killedAt).join(', ')} ms`,
    );
    for (const line of killed) {
      expect(line.reason).toBe('expired');
      const elapsed = (line.at as number) - killedAt;
      expect(elapsed).toBeGreaterThan(TTL_MS - HEARTBEAT_MS - 100);
      expect(elapsed).toBeLessThan(TTL_MS + HEARTBEAT_MS + SLACK_MS);
    }

    // A graceful stop: deregistered and announced at once.
    const stoppedAt = Date.now();
    const stopping = instances[1]!.stop('SIGTERM');
    const stopped = await Promise.all(watchers.map((w) => w.waitFor(isChange('down', urls[1]!), 10_000)));
    await stopping;
    console.log(
      `stopped instance left the views after ${stopped.map((l) => (l.at as number) - stoppedAt).join(', ')} ms`,
    );
    for (const line of stopped) {
      expect(line.reason).toBe('deregistered');
      expect((line.at as number) - stoppedAt).toBeLessThan(1000 + SLACK_MS / 3);
    }

    // The crashed instance restarts on the same address and comes back in every view.
    const port = new URL(urls[0]!).port;
    const restartedAt = Date.now();
    const restarted = spawnWorker('instance', { PORT: port });
    await restarted.waitFor((l) => l.event === 'registered');
    await Promise.all(watchers.map((w) => w.waitFor(isChange('up', urls[0]!, restartedAt), 10_000)));

    // The untouched instance never left any view.
    for (const w of watchers) expect(w.lines.some(isChange('down', urls[2]!))).toBe(false);
  }, 60_000);

  it('keeps every view, dropping nobody, while Redis is unreachable; converges once it is back', async () => {
    const watchers = [spawnWorker('watcher'), spawnWorker('watcher')];
    const ready = await Promise.all(watchers.map((w) => w.waitFor((l) => l.event === 'ready')));
    const before = ready[0]!.urls as string[];
    expect(before.length).toBeGreaterThanOrEqual(2);
    const pausedAt = Date.now();
    redis.pause();
    try {
      // Two full leases without Redis.
      await new Promise((r) => setTimeout(r, 2 * TTL_MS + 500));
      for (const w of watchers) {
        expect(w.lines.some((l) => l.event === 'error' && (l.at as number) >= pausedAt)).toBe(true);
        expect(
          w.lines.some((l) => l.event === 'change' && l.type === 'down' && (l.at as number) >= pausedAt),
        ).toBe(false);
      }
    } finally {
      redis.resume();
    }
    // The instances heartbeat again (re-registering leases that ran out) and every view has them.
    for (const w of watchers) {
      for (const url of before) {
        await w
          .waitFor(
            (l) => l.event === 'change' && l.url === url && (l.at as number) >= pausedAt && l.type === 'up',
            15_000,
          )
          .catch(() => {
            // No 'up' is needed if the lease never ran out; then there must be no 'down' either.
            expect(
              w.lines.some((l) => l.event === 'change' && l.url === url && (l.at as number) >= pausedAt),
            ).toBe(false);
          });
      }
    }
  }, 60_000);
});
