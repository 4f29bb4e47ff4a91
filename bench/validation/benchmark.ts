import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../lib/config.js';
import { gatewayConfigSchema } from '../../gateway/src/config.js';
import { operationLimitsOf } from '../../gateway/src/operation-limits.js';
import { SubscriptionPlanner } from '../../gateway/src/subscriptions/planner.js';
import { readSupergraph } from '../../gateway/src/supergraph.js';
import { type Platform, startPlatform } from '../ledger/platform.js';
import { describeMachine } from '../ledger/report.js';
import { measureShapes } from './documents.js';
import { type ValidationReport, writeReport } from './report.js';
import type { ValidationSettings } from './settings.js';
import { measureThroughput } from './throughput.js';

const loadAverage1m = () => loadavg()[0] ?? Number.NaN;

/**
 * Starts the platform in this process with a second gateway without the operation limits, measures how long a
 * 64 KB document of each hostile shape takes to check (in process and through the gateway), then the `me`
 * query's requests per second with the limits on and off, and writes the report. Everything started is stopped.
 */
export async function runValidationBenchmark(settings: ValidationSettings, progress: (line: string) => void): Promise<ValidationReport> {
  const startedAtMs = performance.now();
  const loadAtStart = loadAverage1m();
  const workDir = await mkdtemp(join(tmpdir(), 'ecocoin-bench-'));
  // When we run as root, PostgreSQL runs as its own user and must be able to enter this folder.
  await chmod(workDir, 0o755);
  let platform: Platform | undefined;
  try {
    progress('starting PostgreSQL, the services, and a second gateway without operation limits…');
    platform = await startPlatform(join(workDir, 'postgres'));
    const unlimitedUrl = (await platform.startGateway({ operationLimits: false })).url;
    // The defaults, as a gateway started without QUERY_*_MAX sees them.
    const limits = operationLimitsOf(parseConfig(gatewayConfigSchema, {}));
    const schema = new SubscriptionPlanner(readSupergraph()).apiSchema;
    const shapes = await measureShapes(schema, limits, platform.gatewayUrl, settings.repeats, progress);
    const throughput = await measureThroughput({ on: platform.gatewayUrl, off: unlimitedUrl }, settings, progress);
    const report: ValidationReport = {
      date: new Date().toISOString().slice(0, 10),
      settings,
      limits,
      machine: describeMachine(),
      loadAverage1m: { start: loadAtStart, end: loadAverage1m() },
      shapes,
      throughput,
      durationSeconds: (performance.now() - startedAtMs) / 1000,
    };
    const written = await writeReport(report);
    progress(written.markdown);
    progress(`written: ${written.paths.join(', ')}`);
    return report;
  } finally {
    try {
      await platform?.stop();
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }
}
