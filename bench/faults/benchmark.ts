import { mkdtemp } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Cluster, startCluster } from '../../scripts/cluster/index.js';
import { describeFaultMatrix, type Fault, type FaultMatrixReport, runFaultMatrix } from '../../test/support/fault-matrix.js';
import { TEST_RATE_LIMITS } from '../../test/support/rate-limits.js';
import { describeMachine } from '../ledger/report.js';
import { writeBenchReport } from '../report-files.js';
import type { FaultSettings } from './settings.js';

const ADMIN = { email: 'bench-faults-admin@example.com', password: 'bench faults admin password' };
/** A gateway has to be up to reach the rest, so two of each service: one dies, the other serves. */
const REPLICAS = 2;
const SETTLE_TIMEOUT_MS = 180_000;

/** Every kind of fault, in the order of one round; the kills strike instance `index` of their service. */
function faultKinds(cluster: Cluster, index: number): Fault[] {
  const kill = (service: 'transaction' | 'user' | 'notification' | 'gateway') => ({
    kind: `SIGKILL ${service}#${index}`,
    inject: () => cluster.instances[service][index]!.kill('SIGKILL'),
  });
  return [
    kill('transaction'),
    kill('user'),
    kill('notification'),
    { kind: 'PostgreSQL restart', inject: () => cluster.postgres.restart() },
    { kind: 'Kafka broker restart', inject: () => cluster.kafka.restart() },
    kill('gateway'),
  ];
}

/**
 * Starts the cluster (two of every service behind HAProxy, a real Kafka broker and PostgreSQL), runs the fault
 * matrix with each kind of fault `rounds` times (the second round strikes the other instance), writes the
 * report and stops everything, on failure too. Throws when an invariant was broken, after writing the report.
 */
export async function runFaultBenchmark(settings: FaultSettings, progress: (line: string) => void): Promise<FaultMatrixReport> {
  const loadAtStart = loadavg()[0] ?? 0;
  progress(`starting the cluster (${REPLICAS} of each service behind HAProxy, Kafka, PostgreSQL, anvil)…`);
  const cluster = await startCluster({
    replicas: REPLICAS,
    ports: 'free',
    dataDir: await mkdtemp(join(tmpdir(), 'ecocoin-bench-faults-')),
    persistent: false,
    env: { ...TEST_RATE_LIMITS, LOG_LEVEL: 'warn' },
    serviceEnv: {
      user: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password },
      transaction: { RECOVERY_INTERVAL_MS: '500' },
      notification: { WEBHOOK_RETRY_DELAY_BASE_MS: '500', WEBHOOK_RETRY_DELAY_MAX_MS: '5000', WEBHOOK_ATTEMPTS_MAX: '20' },
    },
    log: (line) => progress(`[cluster] ${line}`),
  });
  try {
    // Each round's kills strike the other instance than the round before.
    const rounds = Array.from({ length: settings.rounds }, (_, round) => faultKinds(cluster, round % REPLICAS)).flat();
    const report = await runFaultMatrix(
      { gatewayUrl: cluster.gatewayUrl, gatewayWsUrl: cluster.gatewayWsUrl, databaseUrl: (service) => cluster.databaseUrl(service) },
      { label: 'bench-faults', admin: ADMIN, operationCount: settings.operationCount, inFlightMax: settings.inFlightMax, faults: rounds, settleTimeoutMs: SETTLE_TIMEOUT_MS, progress },
    );
    const restarts = cluster.restartLog().map((restart) => `${restart.service}#${restart.index} (${restart.exit})`);
    const markdown = [
      `## Faults, ${new Date().toISOString().slice(0, 10)}`,
      '',
      `**Machine.** ${describeMachine()}; 1-minute load average ${loadAtStart.toFixed(1)} at the start, ${(loadavg()[0] ?? 0).toFixed(1)} at the end.`,
      `**Run.** ${settings.operationCount} operations, ${settings.inFlightMax} in flight, on ${REPLICAS} instances of every service behind HAProxy; each kind of fault ${settings.rounds} time(s). Supervisor restarts: ${restarts.join(', ') || 'none'}.`,
      '',
      ...describeFaultMatrix(report),
      '',
    ].join('\n');
    const written = await writeBenchReport('faults', new Date().toISOString().slice(0, 10), settings.smoke, markdown);
    progress(markdown);
    progress(`written: ${written.paths.join(', ')}`);
    if (report.violations.length > 0) throw new Error(`the fault matrix broke ${report.violations.length} invariant(s); see the report`);
    return report;
  } finally {
    await cluster.stop();
  }
}
