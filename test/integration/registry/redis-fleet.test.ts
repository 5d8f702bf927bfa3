import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniquePrefix } from '../../helpers/keys.js';
import { type RedisServer, startRedisServer } from '../../helpers/redis-server.js';
import { startWorker, type WorkerProcess } from '../../helpers/workers.js';
import type { InstanceEvent } from './workers/instance.js';
import type { WatcherEvent } from './workers/watcher.js';

const TTL_MS = 2000;
const HEARTBEAT_MS = TTL_MS / 3;
// Process scheduling on a shared 2-core machine: slack on top of the promise, not instead of it.
const SLACK_MS = 1500;

type Instance = WorkerProcess<{ stopped: string }, InstanceEvent, never>;
type Watcher = WorkerProcess<{ picks: number }, WatcherEvent, never>;
type Change = Extract<WatcherEvent, { event: 'change' }>;

const isReady = (l: WatcherEvent): l is Extract<WatcherEvent, { event: 'ready' }> => l.event === 'ready';
const isRegistered = (l: InstanceEvent): l is Extract<InstanceEvent, { event: 'registered' }> =>
  l.event === 'registered';

describe('ServiceRegistry on real Redis shared by several OS processes', () => {
  let redis: RedisServer;
  const workers: WorkerProcess[] = [];
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

  /** Starts `workers/<name>.ts` in its own OS process, once it is ready, and releases it. */
  async function spawnWorker<W extends WorkerProcess>(
    name: 'instance' | 'watcher',
    extra: Record<string, string> = {},
  ): Promise<W> {
    const script = fileURLToPath(new URL(`./workers/${name}.ts`, import.meta.url));
    const w = await startWorker(script, { env: { ...env(), ...extra }, name: `${name}#${workers.length}` });
    workers.push(w);
    w.go();
    return w as W;
  }
  const spawnInstance = (extra: Record<string, string> = {}) => spawnWorker<Instance>('instance', extra);
  const spawnWatcher = () => spawnWorker<Watcher>('watcher');

  const isChange =
    (type: string, url: string, after = 0) =>
    (l: WatcherEvent): l is Change =>
      l.event === 'change' && l.type === type && l.url === url && l.at >= after;

  it('every view drops a killed instance within TTL + one heartbeat, a stopped one within 1 s, and sees a restarted one come back', async () => {
    const instances = await Promise.all([spawnInstance(), spawnInstance(), spawnInstance()]);
    const urls = (await Promise.all(instances.map((i) => i.next(isRegistered)))).map((l) => l.url);
    const watchers = await Promise.all([spawnWatcher(), spawnWatcher(), spawnWatcher()]);
    const readies = await Promise.all(watchers.map((w) => w.next(isReady)));
    for (const [j, w] of watchers.entries()) {
      for (const url of urls) {
        if (!readies[j]!.urls.includes(url)) await w.next(isChange('up', url));
      }
    }

    // A crash: nobody deregisters; the lease runs out.
    const killedAt = Date.now();
    await instances[0]!.stop('SIGKILL');
    const killed = await Promise.all(watchers.map((w) => w.next(isChange('down', urls[0]!), 15_000)));
    console.log(`killed instance left the views after ${killed.map((l) => l.at - killedAt).join(', ')} ms`);
    for (const line of killed) {
      expect(line.reason).toBe('expired');
      const elapsed = line.at - killedAt;
      expect(elapsed).toBeGreaterThan(TTL_MS - HEARTBEAT_MS - 100);
      expect(elapsed).toBeLessThan(TTL_MS + HEARTBEAT_MS + SLACK_MS);
    }

    // A graceful stop: deregistered and announced at once.
    const stoppedAt = Date.now();
    const stopping = instances[1]!.stop('SIGTERM');
    const stopped = await Promise.all(watchers.map((w) => w.next(isChange('down', urls[1]!), 10_000)));
    expect(await stopping).toEqual({ code: 0, signal: null });
    expect(await instances[1]!.result()).toEqual({ stopped: urls[1] });
    console.log(
      `stopped instance left the views after ${stopped.map((l) => l.at - stoppedAt).join(', ')} ms`,
    );
    for (const line of stopped) {
      expect(line.reason).toBe('deregistered');
      expect(line.at - stoppedAt).toBeLessThan(1000 + SLACK_MS / 3);
    }

    // The crashed instance restarts on the same address and comes back in every view.
    const port = new URL(urls[0]!).port;
    const restartedAt = Date.now();
    const restarted = await spawnInstance({ PORT: port });
    expect((await restarted.next(isRegistered)).url).toBe(urls[0]);
    await Promise.all(watchers.map((w) => w.next(isChange('up', urls[0]!, restartedAt), 10_000)));

    // The untouched instance never left any view.
    for (const w of watchers) expect(w.messages.some(isChange('down', urls[2]!))).toBe(false);
  }, 60_000);

  it('keeps every view, dropping nobody, while Redis is unreachable; converges once it is back', async () => {
    const watchers = await Promise.all([spawnWatcher(), spawnWatcher()]);
    const ready = await Promise.all(watchers.map((w) => w.next(isReady)));
    const before = ready[0]!.urls;
    expect(before.length).toBeGreaterThanOrEqual(2);
    const pausedAt = Date.now();
    redis.pause();
    try {
      // Two full leases without Redis.
      await new Promise((r) => setTimeout(r, 2 * TTL_MS + 500));
      for (const w of watchers) {
        expect(w.messages.some((l) => l.event === 'error' && l.at >= pausedAt)).toBe(true);
        expect(w.messages.some((l) => l.event === 'change' && l.type === 'down' && l.at >= pausedAt)).toBe(
          false,
        );
      }
    } finally {
      redis.resume();
    }
    // The instances heartbeat again (re-registering leases that ran out) and every view has them.
    for (const w of watchers) {
      for (const url of before) {
        await w
          .next((l) => l.event === 'change' && l.url === url && l.at >= pausedAt && l.type === 'up', 15_000)
          .catch(() => {
            // No 'up' is needed if the lease never ran out; then there must be no 'down' either.
            expect(w.messages.some((l) => l.event === 'change' && l.url === url && l.at >= pausedAt)).toBe(
              false,
            );
          });
      }
    }
  }, 60_000);
});
