import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Most test files wait on real servers (redis-server, RabbitMQ, loopback
    // HTTP), not on the CPU: four workers on a 2-core machine took the suite
    // from 741 s to 211 s with every test passing (the default is one worker
    // per core).
    maxWorkers: 4,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          // A worker's first fast-check property pays a one-off start (~1.4 s
          // on an idle 2-core machine, over 5 s, vitest's default, when four
          // workers share the cores with the integration project).
          testTimeout: 15_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: [
            'test/integration/**/*.test.ts',
            'test/conformance/**/*.test.ts',
            'test/fault/**/*.test.ts',
            'test/hostile/**/*.test.ts',
          ],
          environment: 'node',
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'types',
          include: [],
          typecheck: {
            enabled: true,
            only: true,
            include: ['test/types/**/*.test-d.ts'],
            tsconfig: './tsconfig.json',
          },
        },
      },
    ],
  },
});
