import { defineConfig } from 'tsup';

/**
 * One build entry per public subpath. `scripts/check-exports.mjs` fails the
 * build when this map and the `exports` map of package.json disagree.
 */
export const entries = {
  index: 'src/index.ts',
  redis: 'src/redis.ts',
  amqp: 'src/amqp.ts',
  express: 'src/express.ts',
  fastify: 'src/fastify.ts',
  koa: 'src/koa.ts',
  testing: 'src/testing.ts',
} as const;

export default defineConfig({
  entry: entries,
  format: ['esm', 'cjs'],
  dts: { compilerOptions: { composite: false } },
  tsconfig: 'tsconfig.build.json',
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
  splitting: true,
  treeshake: true,
  shims: false,
  outDir: 'dist',
});
