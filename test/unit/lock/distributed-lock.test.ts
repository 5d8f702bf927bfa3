// DistributedLock's scenarios that hold on every adapter, here over the
// memory adapter (the same suite runs over Redis, Cluster and Redlock in
// test/conformance/).
import { memoryLockAdapter } from '../../../src/adapters/memory/memory-lock-adapter.js';
import { distributedLockSuite } from '../../conformance/distributed-lock-suite.js';
import { expectNoUnhandledRejections } from './lock-test-kit.js';

expectNoUnhandledRejections();

distributedLockSuite({
  name: 'the memory adapter',
  create: () => {
    const adapter = memoryLockAdapter();
    return [adapter, adapter];
  },
});
