import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{lib,gateway,subgraphs,scripts,contracts,sdk,bench,test}/**/*.test.ts'],
    exclude: ['node_modules/**', '.data/**'],
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
