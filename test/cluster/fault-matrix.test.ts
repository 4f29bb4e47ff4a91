/**
 * The fault matrix on the production topology (scripts/cluster): every service its own OS process, two of each
 * behind HAProxy, a real Kafka broker and PostgreSQL server. The bank workload runs through the gateway while,
 * one after another, the transaction subgraph and the user subgraph are SIGKILLed, PostgreSQL and the Kafka
 * broker are restarted and a gateway is SIGKILLed. Clients retry with the same idempotency key until they get
 * a definitive answer. Afterwards nothing may be lost or doubled: not money, not an answer, not a
 * notification, a feed item or a webhook delivery (test/support/fault-matrix.ts says exactly what is checked).
 */
import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, startCluster } from '../../scripts/cluster/index.js';
import { describeFaultMatrix, type Fault, runFaultMatrix } from '../support/fault-matrix.js';
import { TEST_RATE_LIMITS } from '../support/rate-limits.js';
import { TEST_SECRETS } from '../support/stack.js';

const OPERATION_COUNT = 2_000;
const IN_FLIGHT_MAX = 32;
/**
 * Effects still on their way when the workload ends arrive within this: the notification consumers catch up
 * on the events of the Kafka restart, and a webhook cut off by a fault is retried.
 */
const SETTLE_TIMEOUT_MS = 180_000;
const CLUSTER_START_TIMEOUT_MS = 180_000;
/**
 * The file takes under four minutes on a quiet two-core machine (cluster start included) and about nine on one
 * shared with other test runs (load average 25); the bound leaves room beyond that.
 */
const TEST_TIMEOUT_MS = 900_000;
const ADMIN = { email: 'fault-matrix-admin@example.com', password: 'fault matrix admin password' };

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster({
    replicas: 2,
    ports: 'free',
    dataDir: await mkdtemp(join(tmpdir(), 'ecocoin-fault-matrix-')),
    persistent: false,
    env: { ...TEST_SECRETS, ...TEST_RATE_LIMITS, LOG_LEVEL: 'warn' },
    serviceEnv: {
      user: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password },
      transaction: { RECOVERY_INTERVAL_MS: '200' },
      // A delivery cut off by a fault is tried again within seconds, not the production ten.
      notification: { WEBHOOK_RETRY_DELAY_BASE_MS: '500', WEBHOOK_RETRY_DELAY_MAX_MS: '2000', WEBHOOK_ATTEMPTS_MAX: '20' },
    },
  });
}, CLUSTER_START_TIMEOUT_MS);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

/** The faults, in the order they strike; each waits until the cluster has noticed the process is gone. */
function faults(): Fault[] {
  const kill = (service: 'transaction' | 'user' | 'gateway') => ({ kind: `SIGKILL ${service}#0`, inject: () => cluster.instances[service][0]!.kill('SIGKILL') });
  return [
    kill('transaction'),
    kill('user'),
    { kind: 'PostgreSQL restart', inject: () => cluster.postgres.restart() },
    { kind: 'Kafka broker restart', inject: () => cluster.kafka.restart() },
    kill('gateway'),
  ];
}

describe('the fault matrix', () => {
  it(
    'loses and doubles nothing while processes are killed and PostgreSQL and Kafka restart',
    async () => {
      const report = await runFaultMatrix(
        { gatewayUrl: cluster.gatewayUrl, gatewayWsUrl: cluster.gatewayWsUrl, databaseUrl: (service) => cluster.databaseUrl(service) },
        {
          label: 'faults',
          admin: ADMIN,
          operationCount: OPERATION_COUNT,
          inFlightMax: IN_FLIGHT_MAX,
          faults: faults(),
          settleTimeoutMs: SETTLE_TIMEOUT_MS,
          progress: (line) => console.log(`[fault matrix] ${line}`),
        },
      );
      console.log(describeFaultMatrix(report).join('\n'));
      console.log(`restarts: ${cluster.restartLog().map((restart) => `${restart.service}#${restart.index} (${restart.exit})`).join(', ')}`);
      if (report.violations.length > 0) {
        // The cluster's folder goes when it stops; its processes' logs are what explains a violation.
        const keptLogs = await mkdtemp(join(tmpdir(), 'ecocoin-fault-matrix-logs-'));
        await cp(cluster.logDir, keptLogs, { recursive: true });
        console.log(`the cluster's logs are kept in ${keptLogs}`);
      }

      expect(report.violations).toEqual([]);
      expect(report.operations).toBe(OPERATION_COUNT);
      expect(report.inFlightSeenMax).toBe(IN_FLIGHT_MAX);
      expect(report.faults.map((fault) => fault.kind)).toEqual(faults().map((fault) => fault.kind));
      // Every kill was followed by the supervisor's restart of that very process.
      expect(cluster.restartLog().map((restart) => `${restart.service}#${restart.index}`)).toEqual(expect.arrayContaining(['transaction#0', 'user#0', 'gateway#0']));
      // The run must have been an honest one: money moved, the consumers had work, and the faults were felt.
      for (const consumer of Object.values(report.consumers)) expect(consumer.expected).toBeGreaterThan(OPERATION_COUNT / 4);
      expect(report.retries).toBeGreaterThan(0);
    },
    TEST_TIMEOUT_MS,
  );
});
