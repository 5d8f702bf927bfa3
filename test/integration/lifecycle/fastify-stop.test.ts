/**
 * A Fastify app under ServiceLifecycle stops through Fastify's own
 * lifecycle: `lifecycle.manage(app)` (or `servers: [app]`) answers the
 * probes on its server, drains the requests in flight (`Connection:
 * close`), and closes the listener with `fastify.close()`, so the app's
 * `preClose` hooks run, then its requests finish, then its `onClose`
 * hooks, before the primitives managed earlier are closed.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { ServiceLifecycle } from '../../../src/index.js';

function get(
  port: number,
  path: string,
): Promise<{ status: number; body: string; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }),
        );
      })
      .on('error', reject);
  });
}

async function app(
  order: string[],
): Promise<{ app: FastifyInstance; port: number; slowStarted: Promise<void> }> {
  const app = Fastify();
  let started!: () => void;
  const slowStarted = new Promise<void>((resolve) => {
    started = resolve;
  });
  app.addHook('preClose', async () => {
    order.push('preClose');
  });
  app.addHook('onClose', async () => {
    order.push('onClose');
  });
  app.get('/slow', async () => {
    started();
    await new Promise((r) => setTimeout(r, 200));
    order.push('request done');
    return 'slow';
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, port: (app.server.address() as AddressInfo).port, slowStarted };
}

describe('ServiceLifecycle with a Fastify instance', () => {
  it.each(['manage(app)', 'servers: [app]'])(
    '%s: probes, then preClose, requests in flight, onClose, then what was managed before',
    async (how) => {
      const order: string[] = [];
      const { app: fastify, port, slowStarted } = await app(order);
      const lifecycle = new ServiceLifecycle(how === 'servers: [app]' ? { servers: [fastify] } : {});
      lifecycle.manage({ close: () => void order.push('pool closed') }, { name: 'pool' });
      if (how === 'manage(app)') expect(lifecycle.manage(fastify)).toBe(fastify);

      expect((await get(port, '/ready')).status).toBe(200);
      const inFlight = get(port, '/slow');
      // In flight once its handler runs (a fixed 50 ms wait lost the race on a loaded machine).
      await slowStarted;
      const report = await lifecycle.shutdown();
      const answer = await inFlight;

      expect(answer).toMatchObject({ status: 200, body: 'slow', connection: 'close' });
      expect(order).toEqual(['preClose', 'request done', 'onClose', 'pool closed']);
      expect(report).toMatchObject({ clean: true, exitCode: 0 });
      expect(report.steps.map((s) => s.step)).toEqual(['not-ready', 'stop-accepting', 'drain-http', 'close']);
      expect(fastify.server.listening).toBe(false);
      await lifecycle.close();
    },
  );

  it('an onClose hook that throws fails the drain step, and the stop goes on', async () => {
    const fastify = Fastify();
    fastify.addHook('onClose', async () => {
      throw new Error('pool would not close');
    });
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    const lifecycle = new ServiceLifecycle();
    lifecycle.manage(fastify);
    const report = await lifecycle.shutdown();
    const drain = report.steps.find((s) => s.step === 'drain-http');
    expect(drain).toMatchObject({ outcome: 'failed' });
    expect(String(drain?.error)).toMatch(/pool would not close/);
    expect(report.exitCode).toBe(1);
    expect(fastify.server.listening).toBe(false);
    await lifecycle.close();
  });
});
