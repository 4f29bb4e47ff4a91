import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // graphql ships both ESM (index.mjs) and CommonJS builds. Apollo's packages are CommonJS, so ours must use
    // the same copy, or a schema built by one is "from another module or realm" to the other (as under Node).
    alias: { graphql: require.resolve('graphql') },
  },
  test: {
    include: ['{lib,gateway,subgraphs,scripts,contracts,sdk,bench,test}/**/*.test.ts'],
    // The cluster files (each service its own process, 12+ processes per file) run after the rest, one at a time,
    // through vitest.cluster.config.ts: beside other files on two cores they starve them into time-outs.
    exclude: ['node_modules/**', '.data/**', 'test/cluster/**'],
    globalSetup: ['test/global-setup.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
    pool: 'forks',
    // Two cores: two files at a time keeps PostgreSQL, Kafka and the services from starving each other.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Real servers are shared by all files; a test must never leave one half-stopped for the next.
    teardownTimeout: 30_000,
  },
});
