/**
 * A bank test in the manner of Jepsen's: many clients move money between a fixed set of accounts at once,
 * through the gateway, on real PostgreSQL and Kafka, while an auditor reads the whole ledger again and again.
 * Whatever the interleaving, no snapshot may show money created or destroyed or a balance below zero, and
 * afterwards every transaction's outcome must match the ledger exactly. The workload and the checks live in
 * test/support/bank-workload.ts, shared with crash-recovery.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TOPICS } from '../../../lib/events/envelope.js';
import { ensureTopics } from '../../../scripts/infra/kafka-broker.js';
import { Bank, type Currency, countBy, decimalOf, minorOf, runWorkload, START_ETH, START_USD, snapshotViolations } from '../../../test/support/bank-workload.js';
import { type Stack, startStack } from '../../../test/support/stack.js';
import { waitFor } from '../../../test/support/wait.js';

const OPERATION_COUNT = 2_000;
const IN_FLIGHT_MAX = 40;
const PENDING_WAIT_MS = 30_000;
/** The run takes about 50 s on an idle two-core machine; the bound leaves room for one shared with other test runs. */
const TEST_TIMEOUT_MS = 180_000;

const ADMIN = { email: 'bank-admin@example.com', password: 'bank admin password' };

let stack: Stack;
let bank: Bank;
const brokers = inject('kafkaBrokers');
const topicPrefix = `bank-${randomUUID().slice(0, 8)}.`;

beforeAll(async () => {
  await ensureTopics(brokers.split(','), TOPICS.map((topic) => `${topicPrefix}${topic}`), 3);
  stack = await startStack({
    services: ['user', 'price', 'transaction'],
    env: { KAFKA_BROKERS: brokers, KAFKA_TOPIC_PREFIX: topicPrefix },
    serviceEnv: { user: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password }, price: { PRICE_BACKFILL_DAYS: '1' } },
  });
  bank = new Bank(stack, { label: 'bank', admin: ADMIN });
  await bank.setUp();
}, 90_000);

afterAll(async () => {
  await bank?.close();
  await stack?.stop();
});

describe('the bank', () => {
  it('conserves every currency and never overdraws, whatever runs concurrently', async () => {
    const startedAtMs = Date.now();
    const cpuAtStart = process.cpuUsage();
    const walletCount = await bank.countWallets();
    const start = await bank.takeSnapshot();
    expect(snapshotViolations(start, walletCount)).toEqual([]);
    for (const person of bank.people) {
      const held = (currency: Currency) => start.accounts.find((account) => account.owner?.id === person.id && account.currency === currency)?.balance;
      expect([held('USD'), held('ETH'), held('CARBON')]).toEqual([decimalOf(minorOf(START_USD, 'USD'), 'USD'), decimalOf(minorOf(START_ETH, 'ETH'), 'ETH'), decimalOf(0n, 'CARBON')]);
    }

    const auditor = bank.startAuditor(walletCount);
    const { outcomes, inFlightSeenMax } = await runWorkload(OPERATION_COUNT, IN_FLIGHT_MAX, () => bank.randomOperation());
    const audit = await auditor.stop();
    const workloadMs = Date.now() - startedAtMs;
    // Gateway, subgraphs and clients share this process: its CPU time is the run's cost whatever else the machine does.
    const cpu = process.cpuUsage(cpuAtStart);
    const workloadCpuMs = Math.round((cpu.user + cpu.system) / 1000);
    expect(audit.violations).toEqual([]);
    expect(inFlightSeenMax).toBeGreaterThanOrEqual(32);

    // Only the refusals the workload provokes on purpose (overdrafts, a price limit below the market), and, as
    // in Jepsen, indeterminate answers: a time-out on a busy machine says nothing about what happened.
    const answers = countBy(outcomes, (outcome) => outcome.answer);
    expect(Object.keys(answers).filter((answer) => !['COMPLETED', 'PENDING', 'INSUFFICIENT_FUNDS', 'QUOTE_EXPIRED', 'UPSTREAM_UNAVAILABLE'].includes(answer))).toEqual([]);
    expect(outcomes.filter((outcome) => outcome.answer === 'INSUFFICIENT_FUNDS' && !outcome.transactionId)).toEqual([]);
    expect(answers.INSUFFICIENT_FUNDS).toBeGreaterThan(0);

    await waitFor(async () => (await bank.countPending()) === 0, { timeoutMs: PENDING_WAIT_MS, message: 'no transaction left PENDING' });
    // A client that got no answer asks again with the same key, so every recorded transaction is one a client knows.
    const unanswered = outcomes.filter((outcome) => outcome.answer === 'UPSTREAM_UNAVAILABLE' && outcome.request);
    const retries = await Promise.all(unanswered.map((outcome) => bank.send(outcome.kind, outcome.request!, outcome.expectation)));
    expect(retries.filter((outcome) => !(outcome.transactionId || (outcome.answer === 'QUOTE_EXPIRED' && outcome.kind.startsWith('purchase'))))).toEqual([]);
    const final = await bank.takeSnapshot();
    expect(snapshotViolations(final, walletCount)).toEqual([]);
    const all = [...outcomes, ...retries];
    const ledger = await bank.checkLedger(all);
    // The final snapshot shows exactly what the database holds.
    const stored = await bank.userSql<{ id: string; balance: string }[]>`select id, balance::text from wallets`;
    expect(Object.fromEntries(final.accounts.map((account) => [account.walletId, minorOf(account.balance, account.currency).toString()]))).toEqual(
      Object.fromEntries(stored.map((wallet) => [wallet.id, wallet.balance])),
    );
    // Every transaction recorded is one a client asked for (setup or workload): nothing appeared from nowhere.
    const asked = new Set([...bank.setupTransactionIds, ...all.flatMap((outcome) => (outcome.transactionId ? [outcome.transactionId] : []))]);
    expect(ledger.transactions.filter((record) => !asked.has(record.id)).map((record) => record.id)).toEqual([]);

    console.log(
      `bank: ${outcomes.length} operations (${JSON.stringify(countBy(outcomes, (outcome) => outcome.kind))}), up to ${inFlightSeenMax} in flight, ` +
        `answers ${JSON.stringify(answers)}, ${retries.length} same-key retries of unanswered ones; recorded ${ledger.transactions.length} transactions (${bank.setupTransactionIds.size} setup): ` +
        `${ledger.completed.length} COMPLETED, FAILED by code ${JSON.stringify(ledger.failedByCode)}, ${ledger.postings} postings; ` +
        `${audit.checked} concurrent snapshots + 2 checked; workload ${workloadMs} ms (${workloadCpuMs} ms CPU in this process), total ${Date.now() - startedAtMs} ms`,
    );
  }, TEST_TIMEOUT_MS);
});
