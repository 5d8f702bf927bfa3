import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  MessageQueue,
  ServiceLifecycle,
  ServiceRegistry,
  type ShutdownReport,
  type StepReport,
} from '../../../src/index.js';
import { MAX_TIMER_MS } from '../../../src/internal/timers.js';
import { PAST_TIMER_RANGE_MS } from '../../helpers/timer-overflow.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function listen(handler: http.RequestListener): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => server.closeAllConnections());
  return { server, port: (server.address() as AddressInfo).port };
}

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe('ServiceLifecycle', () => {
  it('refuses unknown option keys, bare numbers and bad values with typed errors', () => {
    expect(() => new ServiceLifecycle({ timeout: 5 } as never)).toThrow(/did you mean "deadlineMs"/);
    expect(() => new ServiceLifecycle(5_000 as never)).toThrow(/deadlineMs/);
    expect(() => new ServiceLifecycle({ deadlineMs: -1 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }),
    );
    expect(() => new ServiceLifecycle({ signals: ['SIGKILL' as never] })).toThrow(/signals/);
    expect(() => new ServiceLifecycle({ servers: [{}] as never })).toThrow(/servers/);
    expect(() => new ServiceLifecycle({ probes: { ready: '/r' } as never })).toThrow(/readyPath/);
    const lifecycle = new ServiceLifecycle();
    expect(() => lifecycle.manage(42 as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
    );
    expect(() => lifecycle.manage({} as never)).toThrow(/close/);
    expect(() => lifecycle.manage({ close() {} }, { nme: 'x' } as never)).toThrow(/did you mean "name"/);
    expect(() => lifecycle.addCheck('db', () => true, { timeout: 5 } as never)).toThrow(/timeoutMs/);
    // A misspelt event would subscribe to nothing; a listener that is no function would fail at emit.
    expect(() => lifecycle.on('stoped' as never, () => {})).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument: 'event' }),
    );
    expect(() => lifecycle.on('stopped', 5 as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument: 'listener' }),
    );
    expect(() => lifecycle.off('step_end' as never, () => {})).toThrow(/event must be one of/);
    expect(lifecycle.on('step-end', () => {})).toBeTypeOf('function');
  });

  it('stops in order: not ready, deregister, stop accepting, drain HTTP, consumers, then closes last-managed first', async () => {
    const registry = new ServiceRegistry();
    const watcher = new ServiceRegistry({ adapter: undefined });
    cleanups.push(() => watcher.close());
    const queue = new MessageQueue();
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let received!: () => void;
    const requestReceived = new Promise<void>((r) => {
      received = r;
    });
    const { server, port } = await listen(async (_req, res) => {
      received();
      await gate;
      res.end('done');
    });
    const lifecycle = new ServiceLifecycle({ servers: [server] });
    lifecycle.manage(registry, { name: 'registry' });
    lifecycle.manage(queue, { name: 'queue' });
    const closed: string[] = [];
    lifecycle.manage({ close: () => void closed.push('db') }, { name: 'db' });
    lifecycle.manage({ close: () => void closed.push('cache') }, { name: 'cache' });
    const registration = lifecycle.manage(await registry.register('orders', `http://127.0.0.1:${port}`));
    let acked = 0;
    let handlerDone!: () => void;
    const handled = new Promise<void>((r) => {
      handlerDone = r;
    });
    const consumer = lifecycle.manage(
      await queue.consume('orders.created', async () => {
        await new Promise((r) => setTimeout(r, 80));
        acked++;
        handlerDone();
      }),
    );
    await queue.publish('orders.created', { id: 1 });
    await expect.poll(() => consumer.inFlight).toBe(1);

    const inFlight = get(port, '/work');
    await requestReceived; // the server has the request before the stop begins
    const steps: string[] = [];
    lifecycle.on('step-start', (s) => steps.push(`${s.step}:${s.name}`));
    const ends: StepReport[] = [];
    lifecycle.on('step-end', (s) => ends.push(s));
    const stopping = lifecycle.shutdown();
    expect(lifecycle.stopping).toBe(true);
    const ready = await get(port, '/ready').catch(() => undefined);
    expect(ready).toBeUndefined(); // the listener is closed: no new connection
    setTimeout(release, 50);
    const report = await stopping;
    await handled;
    expect((await inFlight).body).toBe('done');
    expect(acked).toBe(1);
    expect(registration.instance.url).toContain(String(port));
    expect(steps).toEqual([
      'not-ready:not-ready',
      'deregister:deregister',
      'stop-accepting:stop-accepting',
      'drain-http:drain-http',
      'stop-consumers:stop-consumers',
      'close:cache',
      'close:db',
      'close:queue',
      'close:registry',
    ]);
    expect(closed).toEqual(['cache', 'db']);
    expect(report).toMatchObject({ clean: true, exitCode: 0, overran: [], reason: 'shutdown()' });
    expect(ends.every((e) => e.outcome === 'done')).toBe(true);
    expect(await lifecycle.shutdown()).toBe(report);
  });

  it('answers /live, /ready and /health before any routing, and /ready 503 once not ready', async () => {
    const { server, port } = await listen((_req, res) => {
      res.statusCode = 404;
      res.end('app');
    });
    const lifecycle = new ServiceLifecycle({ servers: [server], startReady: false });
    cleanups.push(() => lifecycle.close());
    lifecycle.addCheck('db', () => ({ pool: 3 }));
    lifecycle.addCheck('search', () => false, { critical: false });
    expect((await get(port, '/live')).status).toBe(200);
    expect((await get(port, '/ready')).status).toBe(503);
    lifecycle.markReady();
    expect((await get(port, '/ready')).status).toBe(200);
    const health = await get(port, '/health?verbose=1');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({
      status: 'degraded',
      ready: true,
      checks: [
        { name: 'db', ok: true, details: { pool: 3 } },
        { name: 'search', ok: false, critical: false },
      ],
    });
    lifecycle.addCheck('slow', () => new Promise(() => {}), { timeoutMs: 50 });
    const slow = await get(port, '/ready');
    expect(slow.status).toBe(503);
    expect((await get(port, '/other')).body).toBe('app');
  });

  it('forces past the deadline and reports the step that overran, exit code 1', async () => {
    let received!: () => void;
    const requestReceived = new Promise<void>((r) => {
      received = r;
    });
    const { server, port } = await listen(() => {
      received(); // and never answers
    });
    const lifecycle = new ServiceLifecycle({ servers: [server], deadlineMs: 100 });
    const closed: string[] = [];
    lifecycle.manage({ close: () => new Promise<void>(() => closed.push('hung')) }, { name: 'hung' });
    const pending = get(port, '/hang').catch((err: NodeJS.ErrnoException) => err.code);
    await requestReceived;
    const deadlines: string[] = [];
    lifecycle.on('deadline', (d) => deadlines.push(d.step));
    const report = await lifecycle.shutdown();
    expect(await pending).toBe('ECONNRESET');
    expect(deadlines).toEqual(['drain-http']);
    expect(report.clean).toBe(false);
    expect(report.exitCode).toBe(1);
    expect(report.overran).toEqual(['drain-http:drain-http']);
    expect(report.steps.find((s) => s.name === 'hung')?.outcome).toBe('forced');
    expect(closed).toEqual(['hung']); // closed anyway
    const overran = report.steps.find((s) => s.outcome === 'overran');
    expect(overran?.error).toMatchObject({ code: 'ERR_TIMEOUT' });
  });

  it('a step that throws is reported failed and the stop goes on', async () => {
    const lifecycle = new ServiceLifecycle();
    const closed: string[] = [];
    lifecycle.manage({ close: () => void closed.push('a') }, { name: 'a' });
    lifecycle.manage(
      {
        close: () => {
          throw new Error('boom');
        },
      },
      { name: 'b' },
    );
    const report = await lifecycle.shutdown();
    expect(closed).toEqual(['a']);
    expect(report.exitCode).toBe(1);
    expect(report.steps.find((s) => s.name === 'b')).toMatchObject({ outcome: 'failed' });
  });

  it('installs signal handlers only when asked, stops on the first signal and removes them after', async () => {
    const before = process.listenerCount('SIGTERM');
    const quiet = new ServiceLifecycle();
    expect(process.listenerCount('SIGTERM')).toBe(before);
    await quiet.close();
    const lifecycle = new ServiceLifecycle({ signals: ['SIGTERM', 'SIGINT'] });
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    const stopped = new Promise((resolve) => lifecycle.on('stopped', resolve));
    process.emit('SIGTERM', 'SIGTERM');
    const report = (await stopped) as { reason: string; exitCode: number };
    expect(report).toMatchObject({ reason: 'SIGTERM', exitCode: 0 });
    expect(process.listenerCount('SIGTERM')).toBe(before);
    expect(process.listenerCount('SIGINT')).toBe(before === 0 ? 0 : process.listenerCount('SIGINT'));
  });
});

describe('ServiceLifecycle: as a stranger uses it', () => {
  it('a deadline past the 32-bit timer range does not force the stop at once', async () => {
    const lifecycle = new ServiceLifecycle({ deadlineMs: 3_000_000_000, drainDelayMs: 50 });
    const report = await lifecycle.shutdown();
    expect(report.steps.map((s) => `${s.step}:${s.outcome}`)).toEqual([
      'not-ready:done',
      'drain-delay:done',
      'stop-accepting:done',
    ]);
    expect(report.exitCode).toBe(0);
  });

  it('a 35-day deadline forces a hung stop at 35 days, not at ~24.8 (the longest node timer)', async () => {
    // vitest's fake timers treat a delay past 2^31 - 1 ms as node does (1 ms).
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    try {
      const lifecycle = new ServiceLifecycle({ deadlineMs: PAST_TIMER_RANGE_MS, drainDelayMs: 0 });
      lifecycle.manage({ close: () => new Promise<void>(() => {}) }, { name: 'hung' });
      const deadlines: string[] = [];
      lifecycle.on('deadline', (d) => deadlines.push(d.name));
      let report: ShutdownReport | undefined;
      const stopping = lifecycle.shutdown().then((r) => (report = r));
      await vi.advanceTimersByTimeAsync(MAX_TIMER_MS + 1_000);
      expect(deadlines).toEqual([]);
      expect(report).toBeUndefined();
      await vi.advanceTimersByTimeAsync(PAST_TIMER_RANGE_MS - MAX_TIMER_MS - 1_000 - 1);
      expect(deadlines).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      await stopping;
      expect(deadlines).toEqual(['hung']);
      expect(report?.steps.find((s) => s.name === 'hung')?.outcome).toBe('overran');
      expect(report?.exitCode).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a 35-day drain delay waits 35 days, not ~24.8 (the longest node timer)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    try {
      const lifecycle = new ServiceLifecycle({
        deadlineMs: 2 * PAST_TIMER_RANGE_MS,
        drainDelayMs: PAST_TIMER_RANGE_MS,
      });
      const ended: string[] = [];
      lifecycle.on('step-end', (s) => ended.push(s.step));
      let report: ShutdownReport | undefined;
      void lifecycle.shutdown().then((r) => (report = r));
      await vi.advanceTimersByTimeAsync(MAX_TIMER_MS + 1_000);
      expect(ended).toEqual(['not-ready']);
      await vi.advanceTimersByTimeAsync(PAST_TIMER_RANGE_MS - MAX_TIMER_MS - 1_000);
      expect(ended).toContain('drain-delay');
      await vi.advanceTimersByTimeAsync(0);
      expect(report?.exitCode).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a drain delay that the deadline would always cut is refused', () => {
    expect(() => new ServiceLifecycle({ drainDelayMs: 10_000 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', option: 'drainDelayMs' }),
    );
    expect(() => new ServiceLifecycle({ drainDelayMs: 5_000, deadlineMs: 2_000 })).toThrow(/deadlineMs/);
    expect(() => new ServiceLifecycle({ drainDelayMs: 5_000, deadlineMs: 20_000 })).not.toThrow();
  });

  it('a first signal during a stop started by shutdown() does not force it; a second one does', async () => {
    const lifecycle = new ServiceLifecycle({ signals: ['SIGTERM'], drainDelayMs: 100 });
    const report = lifecycle.shutdown('preStop');
    process.emit('SIGTERM', 'SIGTERM');
    const done = await report;
    expect(done.steps.map((s) => `${s.step}:${s.outcome}`)).toEqual([
      'not-ready:done',
      'drain-delay:done',
      'stop-accepting:done',
    ]);
    expect(done).toMatchObject({ reason: 'preStop', exitCode: 0 });

    const twice = new ServiceLifecycle({ signals: ['SIGTERM'], drainDelayMs: 5_000 });
    twice.on('step-start', (s) => {
      if (s.step === 'drain-delay') setImmediate(() => process.emit('SIGTERM', 'SIGTERM'));
    });
    const forced = twice.shutdown('preStop');
    process.emit('SIGTERM', 'SIGTERM');
    const forcedReport = await forced;
    expect(forcedReport.overran).toEqual(['drain-delay:drain-delay']);
    // Forced by the signal, not by the 10 s deadline: the error says which.
    const error = forcedReport.steps.find((s) => s.step === 'drain-delay')?.error as Error;
    expect(error.message).toMatch(/forced by a second SIGTERM/);
    expect(error.message).not.toMatch(/deadline/);
  });

  it('names a managed primitive by its class even when the bundler renamed it (`class _X`)', async () => {
    // esbuild emits `var DistributedCache = class _DistributedCache { ... }` for classes that name
    // themselves in a static member: the constructor's name is then `_DistributedCache`.
    const Bundled = class _DistributedCache {
      close(): void {}
    };
    const lifecycle = new ServiceLifecycle();
    lifecycle.manage(new Bundled());
    const report = await lifecycle.shutdown();
    expect(report.steps.at(-1)).toMatchObject({ step: 'close', name: 'DistributedCache' });
  });
});

describe('ServiceLifecycle: a logger that throws', () => {
  it('does not crash the deadline, a second signal or a throwing listener; shutdown() still resolves', async () => {
    const throwing = () => {
      throw new Error('logger down');
    };
    const logger = { debug: throwing, info: throwing, warn: throwing, error: throwing };
    const lifecycle = new ServiceLifecycle({ logger, deadlineMs: 50, signals: ['SIGTERM'] });
    lifecycle.on('step-end', () => {
      throw new Error('listener bug');
    });
    lifecycle.manage({ close: () => new Promise<void>(() => {}) }, { name: 'hangs' });
    const report = await lifecycle.shutdown();
    expect(report.overran).toEqual(['close:hangs']);

    const signalled = new ServiceLifecycle({ logger, drainDelayMs: 5_000, signals: ['SIGTERM'] });
    const stopping = signalled.shutdown();
    process.emit('SIGTERM', 'SIGTERM');
    await new Promise((r) => setTimeout(r, 10));
    expect(() => process.emit('SIGTERM', 'SIGTERM')).not.toThrow();
    expect((await stopping).overran).toEqual(['drain-delay:drain-delay']);
  });
});
