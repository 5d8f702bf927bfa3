/**
 * Spans where sessions, the registry and JWKS wait on I/O: session writes,
 * regenerate and destroy; registry register, deregister and the discovery
 * read; JWKS fetches (the URL without secrets). Hot in-memory paths
 * (session get/touch, registry pick, a JWKS key already held) and
 * heartbeats make none.
 */
import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RemoteJwks } from '../../../src/auth/remote-jwks.js';
import { ServiceRegistry } from '../../../src/registry/service-registry.js';
import { SessionStore } from '../../../src/session/session-store.js';
import { installOtel, parentOf } from '../../helpers/otel.js';
import { sleep } from '../../helpers/wait.js';

const otel = installOtel();
afterAll(() => otel.uninstall());
afterEach(() => otel.exporter.reset());

/** Runs `fn` in a span `request`; returns that span's id. */
async function inRequest(fn: () => Promise<unknown>): Promise<string> {
  return trace.getTracer('test').startActiveSpan('request', async (span) => {
    try {
      await fn();
    } finally {
      span.end();
    }
    return span.spanContext().spanId;
  });
}

const names = (spans: ReadableSpan[] = otel.spans()) =>
  spans.map((s) => s.name).filter((n) => n !== 'request');

describe('SessionStore spans', () => {
  it('traces each write as a child of the caller, never get or touch, and records no id', async () => {
    const sessions = new SessionStore<{ n: number }>();
    let id = '';
    const request = await inRequest(async () => {
      const s = await sessions.create({ n: 1 }, { userId: 'user-secret-42' });
      await sessions.get(s.id);
      await sessions.touch(s.id);
      await sessions.update(s.id, (d) => ({ n: d.n + 1 }));
      const fresh = await sessions.regenerate(s.id);
      id = fresh!.id;
      await sessions.destroy(id);
      await sessions.destroyAllForUser('user-secret-42');
    });
    await sessions.close();
    const spans = otel.spans().filter((s) => s.name !== 'request');
    expect(names(spans)).toEqual([
      'session create',
      'session update',
      'session regenerate',
      'session destroy',
      'session destroy_all',
    ]);
    for (const span of spans) {
      expect(parentOf(span)).toBe(request);
      expect(span.kind).toBe(SpanKind.INTERNAL);
    }
    const text = JSON.stringify(spans.map((s) => [s.name, s.attributes, s.events]));
    expect(text).not.toContain(id);
    expect(text).not.toContain('user-secret-42');
  });

  it('records a failed write with error.type', async () => {
    const sessions = new SessionStore<{ n: number }>();
    const s = await sessions.create({ n: 1 });
    await sessions.update(s.id, { n: 2 }, { expectedVersion: 1 });
    await expect(sessions.update(s.id, { n: 3 }, { expectedVersion: 1 })).rejects.toMatchObject({
      code: 'ERR_SESSION_CONFLICT',
    });
    await sessions.close();
    const failed = otel.spans().filter((x) => x.name === 'session update')[1]!;
    expect(failed.attributes['error.type']).toBe('ERR_SESSION_CONFLICT');
    expect(failed.status.code).toBe(2);
  });

  it('takes the telemetry options: false turns spans off, anything else is refused', async () => {
    const quiet = new SessionStore({ tracerProvider: false });
    await quiet.create({ n: 1 });
    await quiet.close();
    expect(otel.spans()).toEqual([]);
    for (const bad of [{ tracerProvider: 'x' }, { meterProvider: 1 }, { tracer: {} }]) {
      expect(() => new SessionStore(bad as never)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }),
      );
    }
  });
});

describe('ServiceRegistry spans', () => {
  it('traces register, the discovery read and deregister; picks and heartbeats make none', async () => {
    const registry = new ServiceRegistry({ ttlMs: 1_000, heartbeatIntervalMs: 10 });
    const request = await inRequest(async () => {
      await registry.register('pricing', 'http://127.0.0.1:4001');
    });
    await registry.getServiceInstance('pricing');
    registry.pick('pricing');
    registry.pick('pricing');
    await sleep(60); // several heartbeats
    await registry.deregister('pricing', 'http://127.0.0.1:4001');
    await registry.close();
    expect(names()).toEqual(['registry register', 'registry list', 'registry deregister']);
    const [register, list] = otel.spans().filter((s) => s.name !== 'request');
    expect(parentOf(register!)).toBe(request);
    expect(register!.attributes).toEqual({ 'scaleout.service': 'pricing' });
    expect(list!.attributes).toEqual({ 'scaleout.service': 'pricing', 'scaleout.registry.instances': 1 });
  });

  it('refuses bad telemetry options with a typed error', () => {
    expect(() => new ServiceRegistry({ tracerProvider: 'x' } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }),
    );
    expect(() => new ServiceRegistry({ tracer: {} } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', suggestion: 'tracerProvider' }),
    );
  });
});

describe('RemoteJwks spans', () => {
  const jwk = {
    ...generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' }),
    kid: 'k1',
    alg: 'RS256',
  };
  let served = 0;
  const server = http.createServer((_req, res) => {
    served++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  const listening = new Promise<string>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('traces a fetch as a CLIENT span with the URL without secrets; a key held makes none', async () => {
    const host = await listening;
    const jwks = new RemoteJwks(`http://${host}/jwks.json?api_key=hunter2&v=1#frag`);
    const request = await inRequest(async () => {
      await jwks.getKey('k1', 'RS256');
      await jwks.getKey('k1', 'RS256'); // held: no fetch, no span
    });
    jwks.close();
    expect(served).toBe(1);
    const spans = otel.spans().filter((s) => s.name !== 'request');
    expect(spans).toHaveLength(1);
    const span = spans[0]!;
    expect(span.name).toBe('GET');
    expect(span.kind).toBe(SpanKind.CLIENT);
    expect(parentOf(span)).toBe(request);
    const [address, port] = host.split(':');
    expect(span.attributes).toEqual({
      'http.request.method': 'GET',
      'url.full': `http://${host}/jwks.json?api_key=REDACTED&v=1`,
      'server.address': address,
      'server.port': Number(port),
      'http.response.status_code': 200,
      'scaleout.jwks.keys': 1,
      'scaleout.operation': 'jwks refresh',
    });
    expect(JSON.stringify(span.attributes)).not.toContain('hunter2');
  });

  it('records a failed fetch with error.type and the credentials redacted', async () => {
    const host = await listening;
    const jwks = new RemoteJwks(`http://admin:s3cret@${host}/jwks.json`);
    await expect(jwks.getKey('k1', 'RS256')).rejects.toMatchObject({ code: 'ERR_JWKS_FETCH' });
    jwks.close();
    const span = otel.spans()[0]!;
    expect(span.attributes['error.type']).toBe('TypeError'); // fetch refuses credentials in a URL
    expect(span.attributes['url.full']).toBe(`http://REDACTED:REDACTED@${host}/jwks.json`);
    expect(JSON.stringify(span.attributes)).not.toContain('s3cret');
  });

  it('refuses a bad tracerProvider with a typed error', () => {
    expect(() => new RemoteJwks('http://127.0.0.1:1/jwks', { tracerProvider: 'x' } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }),
    );
  });
});
