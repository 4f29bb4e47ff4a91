/**
 * What an operator's PostgreSQL restart, failover or connection reaper does to the platform: every service
 * connection terminated from the server side, several times, during the bank workload of concurrent money
 * movements (once while the outbox relay listens, once inside a posting's SQL transaction), and then the server
 * stopped and started again. The services run in this test's own process, so a crash would end the run; the
 * PostgreSQL server is this file's own, so stopping it disturbs no other test file.
 */
import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Envelope, TOPICS } from '../../lib/events/envelope.js';
import { createKafkaTransport } from '../../lib/events/kafka-transport.js';
import type { EventTransport, Subscription } from '../../lib/events/transport.js';
import { silentLogger } from '../../lib/log.js';
import { ensureTopics } from '../../scripts/infra/kafka-broker.js';
import { freePort } from '../../scripts/infra/ports.js';
import { type EmbeddedPostgresServer, startEmbeddedPostgres } from '../../scripts/infra/postgres.js';
import { Bank, countBy, type Outcome, runWorkload, snapshotViolations, type TransactionRecord, type WorkloadProgress } from '../support/bank-workload.js';
import { type Stack, startStack } from '../support/stack.js';
import { waitFor } from '../support/wait.js';

const OPERATION_COUNT = 600;
const IN_FLIGHT_MAX = 32;
/** Every service connection is terminated after each of these many finished operations. */
const TERMINATE_AFTER_OPERATIONS = [100, 200, 300, 400] as const;
/** One strike inside a posting's SQL transaction, before the others, while postings are certain to be under way. */
const STRIKE_INSIDE_POSTING_AFTER_OPERATIONS = 50;
/** How long the strike inside a posting's transaction looks for one holding wallet row locks. */
const LOCK_HOLDER_SEARCH_MS = 15_000;
const RECOVERY_INTERVAL_MS = 200;
/** Recovery takes a transaction over 10 s after it was created; the rest is room for a busy machine. */
const PENDING_WAIT_MS = 60_000;
const EVENTS_WAIT_MS = 60_000;
/** How long the services must come back within once PostgreSQL is up again. */
const READY_AGAIN_MS = 30_000;
const POSTGRES_DOWN_MS = 3_000;
const TEST_TIMEOUT_MS = 240_000;
/** The application_name every service connection carries (lib/db.ts); the test's own connections do not. */
const SERVICE_APPLICATION_NAME = 'ecocoin';

const ADMIN = { email: 'db-loss-admin@example.com', password: 'db loss admin password' };
const brokers = inject('kafkaBrokers');
const topicPrefix = `dbloss-${randomUUID().slice(0, 8)}.`;

let dataDir: string;
let postgresPort: number;
let server: EmbeddedPostgresServer | null = null;
let admin: postgres.Sql;
let stack: Stack;
let bank: Bank;
let consumerTransport: EventTransport;
let consumer: Subscription;
/** Every delivery of a transaction.status envelope, duplicates included. */
const deliveries: Envelope[] = [];

const startServer = async () => {
  server = await startEmbeddedPostgres({ dataDir, port: postgresPort, persistent: true });
};

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ecocoin-db-loss-'));
  // When tests run as root, PostgreSQL runs as its own user and must be able to enter this folder.
  await chmod(dataDir, 0o755);
  postgresPort = await freePort();
  await startServer();
  admin = postgres(server!.url('postgres'), { max: 1, onnotice: () => {} });
  await ensureTopics(brokers.split(','), TOPICS.map((topic) => `${topicPrefix}${topic}`), 3);
  consumerTransport = createKafkaTransport({ brokers: brokers.split(','), clientId: 'db-loss-checker', topicPrefix, log: silentLogger });
  consumer = await consumerTransport.subscribe({
    topics: ['transaction.status'],
    groupId: `${topicPrefix}checker`,
    fromBeginning: true,
    handle: async (envelope) => void deliveries.push(envelope),
  });
  stack = await startStack({
    env: { KAFKA_BROKERS: brokers, KAFKA_TOPIC_PREFIX: topicPrefix },
    serviceEnv: {
      user: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password },
      price: { PRICE_BACKFILL_DAYS: '1' },
      transaction: { RECOVERY_INTERVAL_MS: String(RECOVERY_INTERVAL_MS) },
    },
    createDatabase: async (prefix) => {
      const name = `${prefix}_service_db_${randomUUID().slice(0, 8)}`;
      await server!.createDatabaseIfMissing(name);
      return { url: server!.url(name), drop: async () => {} };
    },
  });
  bank = new Bank(stack, { label: 'dbloss', admin: ADMIN });
  await bank.setUp();
}, 180_000);

afterAll(async () => {
  await consumer?.close();
  await consumerTransport?.close();
  await bank?.close();
  await stack?.stop();
  await admin?.end({ timeout: 5 });
  await server?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

// ---- the strikes ----

/** Terminates every service connection on the server (the operator's `pg_terminate_backend`); returns how many. */
async function terminateServiceConnections(): Promise<number> {
  const [row] = await admin<{ terminated: number }[]>`
    select count(*) filter (where pg_terminate_backend(pid))::int as terminated
    from pg_stat_activity where application_name = ${SERVICE_APPLICATION_NAME} and pid <> pg_backend_pid()`;
  return row!.terminated;
}

/** The services' LISTEN sessions (the outbox relays), one per database that has a listener. */
const listeningDatabases = async () =>
  (await admin<{ datname: string }[]>`
    select distinct datname from pg_stat_activity where application_name = ${SERVICE_APPLICATION_NAME} and query ilike 'listen %'`).map((row) => row.datname);

/**
 * Waits for a user-subgraph session inside a posting's transaction, holding wallet row locks (`select … for
 * update` takes ROW SHARE on the table; pg_class is per database, so the table is not named), and terminates it
 * alone. Returns false when none was caught within the bound.
 */
async function terminateInsidePosting(): Promise<boolean> {
  const userDatabase = new URL(stack.userDatabaseUrl).pathname.slice(1);
  const holder = await waitFor(
    async () => {
      const [row] = await admin<{ pid: number }[]>`
        select distinct a.pid from pg_locks l join pg_stat_activity a on a.pid = l.pid
        where a.datname = ${userDatabase} and a.application_name = ${SERVICE_APPLICATION_NAME}
          and l.locktype = 'relation' and l.mode = 'RowShareLock' and a.xact_start is not null limit 1`;
      return row?.pid;
    },
    { timeoutMs: LOCK_HOLDER_SEARCH_MS, intervalMs: 2, message: 'a posting transaction holding wallet locks' },
  ).catch(() => undefined);
  if (holder === undefined) return false;
  const [row] = await admin<{ terminated: boolean }[]>`select pg_terminate_backend(${holder}) as terminated`;
  return row!.terminated;
}

interface Strikes {
  terminated: number[];
  listenersBefore: string[];
  listenersAgainMs: number;
  insidePosting: boolean;
}

/**
 * Strikes once inside a posting while the workload is in full swing (near its end a lock holder may never be
 * caught: a quick run had finished its postings), then at each point of `TERMINATE_AFTER_OPERATIONS`.
 */
async function strike(progress: WorkloadProgress): Promise<Strikes> {
  const strikes: Strikes = { terminated: [], listenersBefore: [], listenersAgainMs: 0, insidePosting: false };
  await waitFor(() => progress.finished >= STRIKE_INSIDE_POSTING_AFTER_OPERATIONS, { timeoutMs: 120_000, message: `${STRIKE_INSIDE_POSTING_AFTER_OPERATIONS} finished operations` });
  strikes.insidePosting = await terminateInsidePosting();
  for (const [index, after] of TERMINATE_AFTER_OPERATIONS.entries()) {
    await waitFor(() => progress.finished >= after, { timeoutMs: 120_000, message: `${after} finished operations` });
    if (index === 0) strikes.listenersBefore = await listeningDatabases();
    const terminatedAtMs = Date.now();
    strikes.terminated.push(await terminateServiceConnections());
    if (index === 0) {
      // Every relay listens again by itself (postgres.js re-issues LISTEN when it reconnects).
      await waitFor(async () => (await listeningDatabases()).length === strikes.listenersBefore.length, { timeoutMs: 15_000, message: 'every outbox relay to listen again' });
      strikes.listenersAgainMs = Date.now() - terminatedAtMs;
    }
  }
  return strikes;
}

/** Reads the ledger through the API while the strikes land: a refused read must say UPSTREAM_UNAVAILABLE. */
function startTolerantAuditor(walletCount: number) {
  let stopped = false;
  const seen = { checked: 0, unavailable: 0, violations: [] as string[], otherErrors: [] as string[] };
  const running = (async () => {
    while (!stopped) {
      try {
        seen.violations.push(...snapshotViolations(await bank.takeSnapshot(), walletCount));
        seen.checked += 1;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (message.includes('UPSTREAM_UNAVAILABLE')) seen.unavailable += 1;
        else seen.otherErrors.push(message);
      }
    }
  })();
  return {
    async stop() {
      stopped = true;
      await running;
      return seen;
    },
  };
}

/** transaction.status on Kafka, deduplicated by envelope id: exactly one per finished transaction, with its status. */
async function checkStatusEvents(transactions: readonly TransactionRecord[]) {
  const finished = transactions.filter((record) => record.status !== 'PENDING');
  const unique = () => new Map(deliveries.map((envelope) => [envelope.id, envelope]));
  await waitFor(() => unique().size >= finished.length, { timeoutMs: EVENTS_WAIT_MS, message: `${finished.length} transaction.status events` });
  const events = [...unique().values()];
  const eventsOf = countBy(events, (event) => String(event.data.transactionId));
  const statusOf = new Map(events.map((event) => [String(event.data.transactionId), event.data.status]));
  expect(finished.filter((record) => eventsOf[record.id] !== 1 || statusOf.get(record.id) !== record.status).map((record) => record.id)).toEqual([]);
  expect(events.length).toBe(finished.length);
  return { unique: events.length, duplicates: deliveries.length - events.length };
}

describe('PostgreSQL ending the services’ connections', () => {
  it('during a bank run: the process stays up, totals stay zero, nothing is overdrawn, recovery finishes everything, one event each', async () => {
    const startedAtMs = Date.now();
    const walletCount = await bank.countWallets();
    expect(snapshotViolations(await bank.takeSnapshot(), walletCount)).toEqual([]);

    const auditor = startTolerantAuditor(walletCount);
    const progress: WorkloadProgress = { finished: 0, inFlight: 0 };
    const strikes = strike(progress);
    strikes.catch(() => {});
    const { outcomes, inFlightSeenMax } = await runWorkload(OPERATION_COUNT, IN_FLIGHT_MAX, () => bank.randomOperation(), { progress });
    const struck = await strikes;
    const audit = await auditor.stop();
    const workloadMs = Date.now() - startedAtMs;

    expect(struck.terminated.every((count) => count > 0)).toBe(true);
    expect(struck.listenersBefore.length).toBeGreaterThanOrEqual(5);
    expect(struck.insidePosting).toBe(true);
    expect(audit.violations).toEqual([]);
    expect(audit.otherErrors).toEqual([]);
    expect(inFlightSeenMax).toBeGreaterThanOrEqual(IN_FLIGHT_MAX);
    // A request that met a dropped connection is an outage (UPSTREAM_UNAVAILABLE), never INTERNAL.
    const answers = countBy(outcomes, (outcome) => outcome.answer);
    expect(Object.keys(answers).filter((answer) => !['COMPLETED', 'PENDING', 'INSUFFICIENT_FUNDS', 'QUOTE_EXPIRED', 'UPSTREAM_UNAVAILABLE'].includes(answer))).toEqual([]);

    // The recovery loop, within its bound, finishes what the strikes left PENDING.
    const pendingAfterRun = await bank.countPending();
    await waitFor(async () => (await bank.countPending()) === 0, { timeoutMs: PENDING_WAIT_MS, message: 'the recovery loop to finish every PENDING transaction' });
    // A client that heard nothing back asks again with the same key and gets the one outcome there is.
    const unanswered = outcomes.filter((outcome) => outcome.answer === 'UPSTREAM_UNAVAILABLE' && outcome.request);
    const retries: Outcome[] = await Promise.all(unanswered.map((outcome) => bank.send(outcome.kind, outcome.request!, outcome.expectation)));
    expect(retries.filter((outcome) => !(outcome.transactionId || (outcome.answer === 'QUOTE_EXPIRED' && outcome.kind.startsWith('purchase'))))).toEqual([]);

    expect(await bank.countPending()).toBe(0);
    expect(snapshotViolations(await bank.takeSnapshot(), walletCount)).toEqual([]);
    const all = [...outcomes, ...retries];
    const ledger = await bank.checkLedger(all);
    const asked = new Set([...bank.setupTransactionIds, ...all.flatMap((outcome) => (outcome.transactionId ? [outcome.transactionId] : []))]);
    expect(ledger.transactions.filter((record) => !asked.has(record.id)).map((record) => record.id)).toEqual([]);
    const events = await checkStatusEvents(ledger.transactions);
    const outboxUnsent = (await bank.transactionSql<{ count: number }[]>`select count(*)::int as count from outbox where sent_at is null`)[0]!.count;

    console.log(
      `db-connection-loss: ${outcomes.length} operations, up to ${inFlightSeenMax} in flight; service connections terminated ${JSON.stringify(struck.terminated)} ` +
        `(total ${struck.terminated.reduce((sum, count) => sum + count, 0)}), relays listening again in ${struck.listenersAgainMs} ms on ${struck.listenersBefore.length} databases, ` +
        `inside a posting's transaction: ${struck.insidePosting ? 'struck' : 'no lock holder caught'}; answers ${JSON.stringify(answers)}; ` +
        `ledger reads ${audit.checked} checked, ${audit.unavailable} UPSTREAM_UNAVAILABLE; PENDING ${pendingAfterRun} after the run, 0 after recovery; ` +
        `${retries.length} same-key retries answered ${JSON.stringify(countBy(retries, (outcome) => outcome.answer))}; ${ledger.transactions.length} transactions, ` +
        `${ledger.completed.length} COMPLETED, FAILED by code ${JSON.stringify(ledger.failedByCode)}; Kafka ${events.unique} unique status events, ${events.duplicates} duplicate deliveries, ` +
        `${outboxUnsent} unsent; workload ${workloadMs} ms`,
    );
  }, TEST_TIMEOUT_MS);

  it('stopped and started again: /ready says 503 while it is down and 200 after, and money moves again, with no restart', async () => {
    const ready = async () => (await fetch(new URL('/ready', stack.gatewayUrl), { signal: AbortSignal.timeout(5_000) })).status;
    expect(await ready()).toBe(200);
    const [from, to] = bank.people;
    await server!.stop();
    server = null;
    const stoppedAtMs = Date.now();
    await waitFor(async () => (await ready()) === 503, { timeoutMs: 10_000, message: '/ready to say 503' });
    const transferWhileDown = await stack.graphql(
      /* GraphQL */ `mutation ($input: TransferInput!, $key: String!) { transfer(input: $input, idempotencyKey: $key) { id status } }`,
      { input: { to: to!.email, currency: 'USD', amount: '0.01' }, key: `down-${randomUUID()}` },
      from!.token,
    );
    expect(transferWhileDown.errors?.map((error) => error.extensions?.code)).toEqual(['UPSTREAM_UNAVAILABLE']);
    await waitFor(() => Date.now() - stoppedAtMs >= POSTGRES_DOWN_MS, { timeoutMs: POSTGRES_DOWN_MS + 1_000, message: 'the outage to last' });

    await startServer();
    const startedAtMs = Date.now();
    await waitFor(async () => (await ready()) === 200, { timeoutMs: READY_AGAIN_MS, intervalMs: 100, message: '/ready to say 200 again' });
    const readyAgainMs = Date.now() - startedAtMs;
    const key = `up-${randomUUID()}`;
    const transfer = await waitFor(
      async () => {
        const result = await stack.graphql(
          /* GraphQL */ `mutation ($input: TransferInput!, $key: String!) { transfer(input: $input, idempotencyKey: $key) { id status } }`,
          { input: { to: to!.email, currency: 'USD', amount: '0.01' }, key },
          from!.token,
        );
        return result.data?.transfer?.status === 'COMPLETED' ? result.data.transfer : undefined;
      },
      { timeoutMs: READY_AGAIN_MS, intervalMs: 200, message: 'a transfer to complete again' },
    );
    const firstTransferMs = Date.now() - startedAtMs;
    await waitFor(() => deliveries.some((event) => event.data.transactionId === transfer.id), { timeoutMs: EVENTS_WAIT_MS, message: "the transfer's status event" });
    console.log(`db-connection-loss: PostgreSQL down ${startedAtMs - stoppedAtMs} ms; /ready 200 again ${readyAgainMs} ms after it started; a transfer COMPLETED after ${firstTransferMs} ms`);
  }, TEST_TIMEOUT_MS);
});
