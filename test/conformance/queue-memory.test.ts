import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from 'vitest';
import { memoryQueueAdapter } from '../../src/index.js';
import { queueAdapterConformance } from '../../src/testing.js';

queueAdapterConformance({
  name: 'memory',
  test: { describe, it, beforeAll, afterAll, beforeEach, afterEach },
  create: () => memoryQueueAdapter(),
});
