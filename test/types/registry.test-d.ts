import { describe, expectTypeOf, it } from 'vitest';
import {
  type Balancer,
  type BalancerFactory,
  type CallOutcome,
  type InstanceCall,
  type InstanceStatus,
  NoInstancesError,
  powerOfTwoChoicesBalancer,
  type RegistryAdapter,
  roundRobinBalancer,
  type ServiceInstance,
  ServiceRegistry,
} from '../../src/index.js';
import { redisRegistryAdapter } from '../../src/redis.js';

describe('registry public types', () => {
  it('accepts balancer factories and adapters from both entries', () => {
    expectTypeOf(roundRobinBalancer).toExtend<BalancerFactory>();
    expectTypeOf(powerOfTwoChoicesBalancer()).toExtend<Balancer>();
    expectTypeOf(redisRegistryAdapter).returns.toExtend<RegistryAdapter>();
    new ServiceRegistry({ balancer: roundRobinBalancer, outlierDetection: false });
    // @ts-expect-error a balancer is a factory, not a name
    new ServiceRegistry({ balancer: 'round-robin' });
  });

  it('types picks, calls and event payloads', () => {
    const registry = new ServiceRegistry();
    expectTypeOf(registry.pick('svc')).toEqualTypeOf<ServiceInstance>();
    expectTypeOf(registry.getServiceInstance('svc')).resolves.toEqualTypeOf<ServiceInstance>();
    expectTypeOf(registry.instances('svc')).resolves.toEqualTypeOf<InstanceStatus[]>();
    expectTypeOf(registry.startCall('svc')).toEqualTypeOf<InstanceCall>();
    expectTypeOf<Parameters<InstanceCall['end']>[0]['outcome']>().toEqualTypeOf<CallOutcome>();
    registry.on('change', (e) => {
      expectTypeOf(e.type).toEqualTypeOf<'up' | 'down'>();
      expectTypeOf(e.instance).toEqualTypeOf<ServiceInstance>();
    });
    registry.on('panic', (e) => expectTypeOf(e.active).toEqualTypeOf<boolean>());
    // @ts-expect-error no such event
    registry.on('nope', () => {});
    // @ts-expect-error outcomes are a closed union
    registry.startCall('svc').end({ outcome: 'fine' });
    expectTypeOf(new NoInstancesError('x', { service: 'svc' }).code).toEqualTypeOf<'ERR_NO_INSTANCES'>();
  });
});
