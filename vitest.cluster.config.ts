import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The cluster files (test/cluster/): the production topology, each service its own OS process behind HAProxy,
 * with faults struck into it. `npm test` runs them after the other files, one file at a time, so a dozen service
 * processes never compete with another file's stack for the two cores. Run one with
 * `npx vitest run --config vitest.cluster.config.ts test/cluster/fault-matrix.test.ts`.
 * (The base settings are spread, not merged: vite's mergeConfig would append to `include` and `exclude`.)
 */
export default defineConfig({
  ...base,
  test: { ...base.test, include: ['test/cluster/**/*.test.ts'], exclude: ['node_modules/**', '.data/**'], maxWorkers: 1 },
});
