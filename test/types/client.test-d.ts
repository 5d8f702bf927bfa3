import type { AxiosResponse } from 'axios';
import { describe, expectTypeOf, it } from 'vitest';
import {
  type CallOutcome,
  type CircuitState,
  type RegistryUpstreamSource,
  ServiceClient,
  type ServiceClientEvents,
  ServiceRegistry,
  type UpstreamSource,
} from '../../src/index.js';

declare const registry: UpstreamSource;

describe('ServiceClient types', () => {
  it('types the data each verb resolves to', () => {
    const client = new ServiceClient({ baseUrl: 'http://x' });
    expectTypeOf(client.get<{ id: number }>('/a')).toEqualTypeOf<Promise<{ id: number }>>();
    expectTypeOf(client.post<{ ok: boolean }>('/a', { x: 1 }, { idempotencyKey: 'k' })).toEqualTypeOf<
      Promise<{ ok: boolean }>
    >();
    expectTypeOf(client.requestResponse<string>({ url: '/a' })).toEqualTypeOf<
      Promise<AxiosResponse<string, unknown>>
    >();
    expectTypeOf(client.get('/a')).toEqualTypeOf<Promise<unknown>>();
  });

  it('takes a base URL or a service with a registry, never a mix of nothing', () => {
    new ServiceClient({ service: 'inventory', registry });
    new ServiceClient({ service: 'inventory', registry: new ServiceRegistry() });
    expectTypeOf<RegistryUpstreamSource>().toExtend<UpstreamSource>();
    // @ts-expect-error a service needs a registry
    new ServiceClient({ service: 'inventory' });
    // @ts-expect-error options are a second argument with known fields
    new ServiceClient({ baseUrl: 'http://x' }, { timeout: 5 });
  });

  it('types event payloads', () => {
    const client = new ServiceClient({ baseUrl: 'http://x' });
    client.on('attempt', (e) => {
      expectTypeOf(e.outcome).toEqualTypeOf<CallOutcome>();
      expectTypeOf(e.latencyMs).toEqualTypeOf<number>();
    });
    client.on('breaker-state-change', (e) => {
      expectTypeOf(e.to).toEqualTypeOf<CircuitState>();
    });
    // The camelCase name of earlier versions still subscribes (deprecated), with the same payload.
    client.on('breakerStateChange', (e) => {
      expectTypeOf(e.to).toEqualTypeOf<CircuitState>();
    });
    expectTypeOf<ServiceClientEvents['retry']['delayMs']>().toEqualTypeOf<number>();
    // @ts-expect-error no such event
    client.on('attempts', () => {});
  });
});
