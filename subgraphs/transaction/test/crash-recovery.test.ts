/**
 * The bank workload (see bank.test.ts) while the transaction subgraph dies: it runs as a child process and is
 * SIGKILLed with requests in flight, then restarted on the same port. Afterwards the recovery loop must have
 * finished every transaction, the ledger must hold the bank's invariants, a client that retries with the same
 * idempotency key must get one outcome, and Kafka must carry exactly one status event per finished transaction.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Envelope, TOPICS } from '../../../lib/events/envelope.js';
import { createKafkaTransport } from '../../../lib/events/kafka-transport.js';
import type { EventTransport, Subscription } from '../../../lib/events/transport.js';
import { silentLogger } from '../../../lib/log.js';
import { ensureTopics } from '../../../scripts/infra/kafka-broker.js';
import { freePort } from '../../../scripts/infra/ports.js';
import { Bank, countBy, type Outcome, runWorkload, snapshotViolations, type TransactionRecord, type WorkloadProgress } from '../../../test/support/bank-workload.js';
import { NOWHERE_URL, type Stack, startStack, TEST_SECRETS } from '../../../test/support/stack.js';
import { waitFor } from '../../../test/support/wait.js';

const OPERATION_COUNT = 800;
const IN_FLIGHT_MAX = 40;
/** The child dies once this many operations have finished: well into the run, with the workers all busy. */
const KILL_AFTER_OPERATIONS = 250;
const RECOVERY_INTERVAL_MS = 200;
const CHILD_START_TIMEOUT_MS = 60_000;
const CHILD_EXIT_TIMEOUT_MS = 10_000;
/** Recovery waits 10 s after a transaction was created before it takes it over; a killed claim holds 30 s. */
const PENDING_WAIT_MS = 60_000;
const EVENTS_WAIT_MS = 60_000;
/** The run takes about 35 s on an idle two-core machine; the bound leaves room for one shared with other test runs. */
const TEST_TIMEOUT_MS = 180_000;

const ADMIN = { email: 'crash-admin@example.com', password: 'crash admin password' };
const childEntry = fileURLToPath(new URL('../src/index.ts', import.meta.url));
const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));

// ---- the transaction subgraph as a process of its own ----

interface Child {
  process: ChildProcess;
  exited: Promise<unknown>;
  output: () => string;
}

let transactionPort: number;
let child: Child | null = null;

function spawnTransactionService(): Child {
  const env = {
    PATH: process.env.PATH ?? '',
    ...TEST_SECRETS,
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    PORT: String(transactionPort),
    DATABASE_URL: stack.subgraphs.transaction!.databaseUrl,
    USER_SERVICE_URL: new URL(stack.subgraphs.user!.url).origin,
    PRICE_SERVICE_URL: new URL(stack.subgraphs.price!.url).origin,
    // Not started: the workload makes no withdrawal, and no default address may reach a blockchain subgraph elsewhere.
    BLOCKCHAIN_SERVICE_URL: new URL(NOWHERE_URL).origin,
    KAFKA_BROKERS: brokers,
    KAFKA_TOPIC_PREFIX: topicPrefix,
    RECOVERY_INTERVAL_MS: String(RECOVERY_INTERVAL_MS),
  };
  const spawned = spawn(process.execPath, ['--import', 'tsx', childEntry], { cwd: repositoryRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => void (output = (output + chunk.toString()).slice(-4000));
  spawned.stdout?.on('data', keep);
  spawned.stderr?.on('data', keep);
  return { process: spawned, exited: new Promise((resolve) => spawned.once('exit', resolve)), output: () => output };
}

async function startTransactionService(): Promise<void> {
  child = spawnTransactionService();
  const started = child;
  await waitFor(
    async () => {
      if (started.process.exitCode !== null) throw new Error(`the child exited with ${started.process.exitCode}: ${started.output()}`);
      return (await fetch(`http://127.0.0.1:${transactionPort}/health`)).status === 200;
    },
    { timeoutMs: CHILD_START_TIMEOUT_MS, intervalMs: 100, message: 'the transaction subgraph child to answer /health' },
  );
}

async function killTransactionService(): Promise<void> {
  if (!child || child.process.exitCode !== null || child.process.signalCode !== null) return;
  const dying = child;
  dying.process.kill('SIGKILL');
  await waitFor(() => dying.process.signalCode !== null || dying.process.exitCode !== null, { timeoutMs: CHILD_EXIT_TIMEOUT_MS, message: 'the killed child to exit' });
  await dying.exited;
}

// ---- the system under test ----

let stack: Stack;
let bank: Bank;
let consumerTransport: EventTransport;
let consumer: Subscription;
/** Every delivery of a transaction.status envelope, duplicates included. */
const deliveries: Envelope[] = [];
const brokers = inject('kafkaBrokers');
const topicPrefix = `crash-${randomUUID().slice(0, 8)}.`;

beforeAll(async () => {
  await ensureTopics(brokers.split(','), TOPICS.map((topic) => `${topicPrefix}${topic}`), 3);
  // Subscribed before anything happens, from the beginning, in a group of its own: it must see every event.
  consumerTransport = createKafkaTransport({ brokers: brokers.split(','), clientId: 'crash-recovery-checker', topicPrefix, log: silentLogger });
  consumer = await consumerTransport.subscribe({
    topics: ['transaction.status'],
    groupId: `${topicPrefix}checker`,
    fromBeginning: true,
    handle: async (envelope) => void deliveries.push(envelope),
  });
  transactionPort = await freePort();
  stack = await startStack({
    services: ['user', 'price', 'transaction'],
    env: { KAFKA_BROKERS: brokers, KAFKA_TOPIC_PREFIX: topicPrefix },
    serviceEnv: { user: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password }, price: { PRICE_BACKFILL_DAYS: '1' } },
    external: { transaction: `http://127.0.0.1:${transactionPort}/graphql` },
  });
  bank = new Bank(stack, { label: 'crash', admin: ADMIN });
  await startTransactionService();
  await bank.setUp();
}, 120_000);

afterAll(async () => {
  // The child first: its database goes with the stack.
  await killTransactionService();
  await consumer?.close();
  await consumerTransport?.close();
  await bank?.close();
  await stack?.stop();
});

// ---- the crash ----

/** The outage, as the workload sees it: workers told UPSTREAM_UNAVAILABLE wait for `back` before going on. */
const outage = { back: Promise.resolve() as Promise<unknown>, inFlightAtKill: 0 };

/** A client backs off until the service is back, rather than burn its operations on an outage. */
async function backOffDuringOutage(outcome: Outcome) {
  if (outcome.answer === 'UPSTREAM_UNAVAILABLE') await outage.back;
}

/** SIGKILLs the child once `KILL_AFTER_OPERATIONS` have finished, and restarts it on the same port. */
async function crashMidRun(progress: WorkloadProgress) {
  await waitFor(() => progress.finished >= KILL_AFTER_OPERATIONS, { timeoutMs: 60_000, message: `${KILL_AFTER_OPERATIONS} operations before the crash` });
  outage.inFlightAtKill = progress.inFlight;
  const killedAtMs = Date.now();
  let restarted!: () => void;
  outage.back = new Promise<void>((resolve) => void (restarted = resolve));
  try {
    await killTransactionService();
    const pendingAfterKill = await bank.countPending();
    await startTransactionService();
    return { pendingAfterKill, pendingAfterRestart: await bank.countPending(), downMs: Date.now() - killedAtMs };
  } finally {
    // Even a failed restart releases the workers, so the run ends and the failure is reported.
    restarted();
  }
}

/**
 * Kafka, deduplicated by envelope id: one transaction.status event per finished transaction, carrying its
 * final status, so exactly one COMPLETED event per COMPLETED transaction and none for any other.
 */
async function checkStatusEvents(transactions: readonly TransactionRecord[]): Promise<Envelope[]> {
  const finished = transactions.filter((record) => record.status !== 'PENDING');
  const unique = () => new Map(deliveries.map((envelope) => [envelope.id, envelope]));
  await waitFor(() => unique().size >= finished.length, { timeoutMs: EVENTS_WAIT_MS, message: `${finished.length} transaction.status events` });
  const events = [...unique().values()];
  const eventsOf = new Map<string, Envelope[]>();
  for (const event of events) eventsOf.set(String(event.data.transactionId), [...(eventsOf.get(String(event.data.transactionId)) ?? []), event]);
  const statusOf = new Map(transactions.map((record) => [record.id, record.status]));
  const completedEventsOf = (id: string) => eventsOf.get(id)?.filter((event) => event.data.status === 'COMPLETED').length ?? 0;
  expect(finished.filter((record) => record.status === 'COMPLETED' && completedEventsOf(record.id) !== 1).map((record) => record.id), 'COMPLETED without exactly one COMPLETED event').toEqual([]);
  expect(events.filter((event) => event.data.status === 'COMPLETED' && statusOf.get(String(event.data.transactionId)) !== 'COMPLETED'), 'COMPLETED events of other transactions').toEqual([]);
  expect(finished.filter((record) => eventsOf.get(record.id)?.length !== 1 || eventsOf.get(record.id)?.[0]?.data.status !== record.status).map((record) => record.id)).toEqual([]);
  expect(events.length).toBe(finished.length);
  return events;
}

describe('a crash of the transaction subgraph', () => {
  it('loses nothing and doubles nothing: recovery finishes every transaction and Kafka carries one status event each', async () => {
    const startedAtMs = Date.now();
    const walletCount = await bank.countWallets();
    expect(snapshotViolations(await bank.takeSnapshot(), walletCount)).toEqual([]);

    const auditor = bank.startAuditor(walletCount);
    const progress: WorkloadProgress = { finished: 0, inFlight: 0 };
    const crash = crashMidRun(progress);
    crash.catch(() => {});
    const { outcomes, inFlightSeenMax } = await runWorkload(OPERATION_COUNT, IN_FLIGHT_MAX, () => bank.randomOperation(), { progress, afterEach: backOffDuringOutage });
    const crashed = await crash;
    const workloadMs = Date.now() - startedAtMs;

    // The recovery loop, not a client's retry, finishes what the crash left PENDING.
    await waitFor(async () => (await bank.countPending()) === 0, { timeoutMs: PENDING_WAIT_MS, message: 'the recovery loop to finish every PENDING transaction' });
    const recoveredCount = (await bank.transactionSql<{ count: number }[]>`select count(*)::int as count from transactions where attempts > 0`)[0]!.count;
    // Then a client that heard nothing back tries again with the same key, and gets the one outcome there is.
    const unanswered = outcomes.filter((outcome) => outcome.answer === 'UPSTREAM_UNAVAILABLE');
    const retries = await Promise.all(unanswered.filter((outcome) => outcome.request).map((outcome) => bank.send(outcome.kind, outcome.request!, outcome.expectation)));
    const audit = await auditor.stop();
    expect(audit.violations).toEqual([]);
    expect(inFlightSeenMax).toBeGreaterThanOrEqual(32);
    expect(outage.inFlightAtKill).toBeGreaterThan(0);
    // The kill caught transactions between being recorded and finished, and the loop finished each of them.
    expect(crashed.pendingAfterRestart).toBeGreaterThan(0);
    expect(recoveredCount).toBeGreaterThanOrEqual(crashed.pendingAfterRestart);

    const answers = countBy(outcomes, (outcome) => outcome.answer);
    expect(Object.keys(answers).filter((answer) => !['COMPLETED', 'PENDING', 'INSUFFICIENT_FUNDS', 'QUOTE_EXPIRED', 'UPSTREAM_UNAVAILABLE'].includes(answer))).toEqual([]);
    const retryAnswers = countBy(retries, (outcome) => outcome.answer);
    // A quote may have expired by the retry if the first attempt never reached the service; anything else has a transaction.
    expect(retries.filter((outcome) => !(outcome.transactionId || (outcome.answer === 'QUOTE_EXPIRED' && outcome.kind.startsWith('purchase'))))).toEqual([]);

    expect(await bank.countPending()).toBe(0);
    expect(snapshotViolations(await bank.takeSnapshot(), walletCount)).toEqual([]);
    const all = [...outcomes, ...retries];
    const ledger = await bank.checkLedger(all);
    const asked = new Set([...bank.setupTransactionIds, ...all.flatMap((outcome) => (outcome.transactionId ? [outcome.transactionId] : []))]);
    expect(ledger.transactions.filter((record) => !asked.has(record.id)).map((record) => record.id), 'transactions no client was ever told of').toEqual([]);

    const events = await checkStatusEvents(ledger.transactions);
    const outboxUnsent = (await bank.transactionSql<{ count: number }[]>`select count(*)::int as count from outbox where sent_at is null`)[0]!.count;

    console.log(
      `crash-recovery: ${outcomes.length} operations (${JSON.stringify(countBy(outcomes, (outcome) => outcome.kind))}), up to ${inFlightSeenMax} in flight, ` +
        `answers ${JSON.stringify(answers)}; SIGKILL after ${KILL_AFTER_OPERATIONS} with ${outage.inFlightAtKill} in flight, ` +
        `down ${crashed.downMs} ms, PENDING ${crashed.pendingAfterKill} after the kill and ${crashed.pendingAfterRestart} right after the restart, ${recoveredCount} finished by the recovery loop; ` +
        `${retries.length} same-key retries answered ${JSON.stringify(retryAnswers)}; recorded ${ledger.transactions.length} transactions ` +
        `(${bank.setupTransactionIds.size} setup): ${ledger.completed.length} COMPLETED, FAILED by code ${JSON.stringify(ledger.failedByCode)}; ` +
        `${audit.checked} concurrent snapshots + 2 checked; Kafka: ${deliveries.length} deliveries, ${events.length} unique envelopes, ` +
        `${deliveries.length - events.length} duplicates, ${outboxUnsent} unsent in the outbox at the end; workload ${workloadMs} ms, total ${Date.now() - startedAtMs} ms`,
    );
  }, TEST_TIMEOUT_MS);
});
