/**
 * The fault matrix, shared by its test and `npm run bench:faults`: the bank workload (bank-workload.ts) through
 * the gateway, with retirements and withdrawals besides, by clients that retry with the same idempotency key
 * until they get a definitive answer, while processes are killed one after another. Afterwards the ledger must
 * hold the bank's invariants, every key must have had one outcome, and every completed transaction must have
 * had exactly one effect on each consumer: a notification, an item on each party's transaction feed, and a
 * webhook delivery. Nothing here knows how the processes run; the caller hands in the faults.
 */
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { Bank, type OperationMix, type Outcome, runWorkload, type WorkloadProgress } from './bank-workload.js';
import { countCompletionNotices, FeedListener, WebhookReceiver } from './effect-consumers.js';
import { disagreeingKeys, RetryingClient } from './retrying-client.js';
import { waitFor } from './wait.js';

/** Every path that moves money, with a few withdrawals: each one mints on chain, the slowest path. */
export const FAULT_MATRIX_MIX: OperationMix = { transfer: 0.3, payment: 0.15, purchaseByQuote: 0.15, purchaseAtMarket: 0.15, retirement: 0.2, withdrawal: 0.05 };
/** Problems kept per kind for the report; one is enough to fail, a few help to see a pattern. */
const EXAMPLES_MAX = 5;
/** How long a fault may take to mend, from its strike to the next operation completed through the gateway. */
const RECOVERY_TIMEOUT_MS = 90_000;
const CONSUMERS_READY_TIMEOUT_MS = 30_000;

export interface FaultPlatform {
  gatewayUrl: string;
  gatewayWsUrl: string;
  databaseUrl(service: 'user' | 'transaction' | 'notification'): string;
}

/** One thing that goes wrong: `inject` does it and resolves once it has been done (e.g. the process exited). */
export interface Fault {
  kind: string;
  inject(): Promise<void>;
}

export interface FaultMatrixOptions {
  label: string;
  admin: { email: string; password: string };
  operationCount: number;
  inFlightMax: number;
  /** Struck one after another, at evenly spread points of the run. */
  faults: readonly Fault[];
  /** How long the effects may take to arrive once the workload is done. */
  settleTimeoutMs: number;
  mix?: OperationMix;
  progress?: (line: string) => void;
}

export interface FaultRecord {
  kind: string;
  /** Operations finished when it struck. */
  atOperation: number;
  injectMs: number;
  /** From the strike to the next operation that completed through the gateway; null when none did in time. */
  recoveryMs: number | null;
}

export interface ConsumerFigures {
  expected: number;
  lost: number;
  duplicated: number;
}

export interface FaultMatrixReport {
  operations: number;
  inFlightSeenMax: number;
  answers: Record<string, number>;
  retries: number;
  retriesByCode: Record<string, number>;
  unanswered: number;
  faults: FaultRecord[];
  completedTransactions: number;
  /** Why withdrawals that got past the debit failed (on chain), with how many did. */
  failedWithdrawals: Record<string, number>;
  /** How long after the workload and the ledger checks every effect had arrived (or the wait gave up). */
  effectsSettleMs: number;
  consumers: { notifications: ConsumerFigures; feed: ConsumerFigures; webhooks: ConsumerFigures };
  webhookRepeatedPosts: number;
  feedResubscriptions: number;
  snapshots: { checked: number; failedReads: number };
  durationMs: number;
  /** Every broken invariant, as readable lines; empty when the run was clean. */
  violations: string[];
}

interface Consumers {
  receiver: WebhookReceiver;
  listeners: FeedListener[];
}

export async function runFaultMatrix(platform: FaultPlatform, options: FaultMatrixOptions): Promise<FaultMatrixReport> {
  const say = options.progress ?? (() => {});
  const client = new RetryingClient(platform.gatewayUrl);
  const bank = new Bank(
    { gatewayUrl: platform.gatewayUrl, graphql: client.graphql, subgraphs: { user: { databaseUrl: platform.databaseUrl('user') }, transaction: { databaseUrl: platform.databaseUrl('transaction') } } },
    { label: options.label, admin: options.admin },
  );
  const consumers: Consumers = { receiver: new WebhookReceiver(), listeners: [] };
  try {
    await bank.setUp();
    await startConsumers(bank, platform, client, consumers);
    say(`set up ${bank.people.length} customers with webhooks and feeds; running ${options.operationCount} operations`);
    return await runAndCheck(bank, platform, client, consumers, options);
  } finally {
    for (const listener of consumers.listeners) listener.stop();
    await consumers.receiver.stop();
    await bank.close();
  }
}

/**
 * A webhook and a feed per customer, then one small transfer by each: when every feed has shown its owner's
 * transfer, every subscription is live end to end, and the workload may start.
 */
async function startConsumers(bank: Bank, platform: FaultPlatform, client: RetryingClient, consumers: Consumers): Promise<void> {
  await consumers.receiver.start();
  for (const person of bank.people) await consumers.receiver.register(client.graphql, person.id, person.token);
  consumers.listeners.push(...bank.people.map((person) => new FeedListener(platform.gatewayWsUrl, person.id, person.token)));
  for (const listener of consumers.listeners) listener.start();
  const transfer = /* GraphQL */ `mutation ($input: TransferInput!, $key: String!) { transfer(input: $input, idempotencyKey: $key) { id status } }`;
  const { people } = bank;
  // Until its feed shows one, each customer sends another: one sent before the subscription was live is not shown.
  await waitFor(
    async () => {
      const waiting = people.flatMap((person, index) => (consumers.listeners[index]!.completedByTransaction.size === 0 ? [index] : []));
      const next = (index: number) => people[(index + 1) % people.length]!.id;
      await Promise.all(waiting.map((index) => client.graphql(transfer, { input: { to: next(index), currency: 'USD', amount: '0.01' }, key: randomUUID() }, people[index]!.token)));
      return waiting.length === 0;
    },
    { timeoutMs: CONSUMERS_READY_TIMEOUT_MS, intervalMs: 1_000, message: 'every customer’s transaction feed to show a transfer of theirs' },
  );
}

async function runAndCheck(bank: Bank, platform: FaultPlatform, client: RetryingClient, consumers: Consumers, options: FaultMatrixOptions): Promise<FaultMatrixReport> {
  const say = options.progress ?? (() => {});
  const startedAt = Date.now();
  const scopeStartedAt = new Date();
  const auditor = bank.startAuditor(await bank.countWallets(), { failedReadsTolerated: true });
  const progress: WorkloadProgress = { finished: 0, inFlight: 0 };
  const faults = strikeFaults(options, progress, bank, client, say);
  // A fault that could not be struck is thrown once the workload is over, not reported as unhandled before.
  faults.catch(() => {});
  const workload = await runWorkload(options.operationCount, options.inFlightMax, () => bank.randomOperation(options.mix ?? FAULT_MATRIX_MIX), { progress });
  const faultRecords = await faults;
  const snapshots = await auditor.stop();
  say(`workload done in ${Date.now() - startedAt} ms; waiting for every transaction to settle`);

  const violations: string[] = [...snapshots.violations];
  await waitFor(async () => (await bank.countPending()) === 0, { timeoutMs: options.settleTimeoutMs, intervalMs: 250, message: 'no transaction left PENDING' }).catch((error: Error) =>
    violations.push(error.message),
  );
  // Every key once more, with the same request: the answer must be the one the key already had.
  await runWorkload(workload.outcomes.length, options.inFlightMax, replayNext(bank, workload.outcomes));
  violations.push(...disagreeingKeys(client.answers).slice(0, EXAMPLES_MAX).map((entry) => `key ${entry.key} answered ${entry.answers.join(', ')}`));
  await bank.checkLedger(workload.outcomes).catch((error: Error) => violations.push(`ledger: ${error.message.slice(0, 2_000)}`));

  const settleStartedAt = Date.now();
  const effects = await settleEffects(bank, platform, consumers, scopeStartedAt, options.settleTimeoutMs);
  say(`effects settled ${Date.now() - settleStartedAt} ms after the ledger checks`);
  violations.push(...effects.violations);
  if (consumers.receiver.badSignatures.length > 0) violations.push(`${consumers.receiver.badSignatures.length} webhook POSTs with a bad signature, e.g. ${consumers.receiver.badSignatures[0]}`);
  if (client.unanswered > 0) violations.push(`${client.unanswered} requests got no definitive answer within the retry bound`);
  for (const fault of faultRecords) {
    if (fault.recoveryMs === null) violations.push(`no operation completed within ${RECOVERY_TIMEOUT_MS} ms of ${fault.kind}`);
    // A fault that struck an idle platform proves nothing about the operations it should have cut through.
    if (fault.atOperation >= options.operationCount) violations.push(`${fault.kind} struck after the workload had finished`);
  }

  // A withdrawal may fail on chain and give its CARBON back; why it did is worth seeing beside the faults.
  const failedWithdrawals = await bank.transactionSql<{ reason: string; count: number }[]>`
    select coalesce(failure_code, '') || ': ' || coalesce(left(failure_message, 200), '') as reason, count(*)::int as count
    from transactions where type = 'WITHDRAWAL' and status = 'FAILED' and failure_code <> 'INSUFFICIENT_FUNDS' group by 1`;
  const answers: Record<string, number> = {};
  for (const outcome of workload.outcomes) answers[`${outcome.kind} ${outcome.answer}`] = (answers[`${outcome.kind} ${outcome.answer}`] ?? 0) + 1;
  return {
    operations: workload.outcomes.length,
    inFlightSeenMax: workload.inFlightSeenMax,
    answers,
    retries: client.retries,
    retriesByCode: client.retriesByCode,
    unanswered: client.unanswered,
    faults: faultRecords,
    completedTransactions: effects.completed,
    effectsSettleMs: Date.now() - settleStartedAt,
    failedWithdrawals: Object.fromEntries(failedWithdrawals.map((row) => [row.reason, row.count])),
    consumers: effects.figures,
    webhookRepeatedPosts: consumers.receiver.repeatedPosts,
    feedResubscriptions: consumers.listeners.reduce((sum, listener) => sum + listener.resubscriptions, 0),
    snapshots: { checked: snapshots.checked, failedReads: snapshots.failedReads },
    durationMs: Date.now() - startedAt,
    violations,
  };
}

/**
 * Strikes each fault once the workload has finished its share of operations, and times the recovery. The
 * points are spread over the first three quarters of the run, so even a slow fault is over before it ends.
 */
async function strikeFaults(options: FaultMatrixOptions, progress: WorkloadProgress, bank: Bank, client: RetryingClient, say: (line: string) => void): Promise<FaultRecord[]> {
  const records: FaultRecord[] = [];
  for (const [index, fault] of options.faults.entries()) {
    const atOperation = Math.floor(((index + 1) * options.operationCount * 3) / (4 * (options.faults.length + 1)));
    await waitFor(() => progress.finished >= atOperation, { timeoutMs: 30 * 60_000, intervalMs: 50, message: `operation ${atOperation}` });
    const struckAt = Date.now();
    const struckAtOperation = progress.finished;
    // Listening from the strike on: a restart that takes long may not stop operations from completing meanwhile.
    const fromWorkload = client.nextCompletion(struckAt);
    await fault.inject();
    const injectMs = Date.now() - struckAt;
    const recovered = await probeRecovery(bank, client, fromWorkload, struckAt);
    const record = { kind: fault.kind, atOperation: struckAtOperation, injectMs, recoveryMs: recovered === null ? null : recovered - struckAt };
    say(`fault ${fault.kind} after ${atOperation} operations: done in ${injectMs} ms, recovered in ${record.recoveryMs ?? 'never'} ms`);
    records.push(record);
  }
  return records;
}

const PROBE = /* GraphQL */ `mutation ($input: TransferInput!, $key: String!) { transfer(input: $input, idempotencyKey: $key) { id status } }`;

/**
 * When, after a strike at `struckAt`, an operation first completed through the gateway: the first of the
 * workload's sent after the strike, or of small probe transfers sent one after another meanwhile (so the time
 * is measured even when the workload happens to be between operations). Null when none did in time.
 */
async function probeRecovery(bank: Bank, client: RetryingClient, fromWorkload: Promise<number>, struckAt: number): Promise<number | null> {
  // A completion already seen (during a long restart) counts before any probe goes out.
  let recoveredAt: number | null = await Promise.race([fromWorkload, new Promise<null>((resolve) => setImmediate(() => resolve(null)))]);
  void fromWorkload.then((at) => (recoveredAt ??= at));
  const deadline = struckAt + RECOVERY_TIMEOUT_MS;
  for (let turn = 0; recoveredAt === null && Date.now() < deadline; turn += 1) {
    const [from, to] = [bank.people[turn % bank.people.length]!, bank.people[(turn + 1) % bank.people.length]!];
    const result = await client.graphql(PROBE, { input: { to: to.id, currency: 'USD', amount: '0.01' }, key: randomUUID() }, from.token);
    if (result.data?.transfer?.status === 'COMPLETED') recoveredAt ??= Date.now();
  }
  return recoveredAt;
}

function replayNext(bank: Bank, outcomes: readonly Outcome[]) {
  const queue = [...outcomes];
  return async (): Promise<Outcome> => {
    const outcome = queue.pop()!;
    if (!outcome.request) return outcome;
    return bank.send(outcome.kind, outcome.request, outcome.expectation);
  };
}

interface CompletedTransaction {
  id: string;
  parties: string[];
}

/**
 * Waits (bounded) until every completed transaction of the run has its effects, then counts them: lost is a
 * transaction (or party) without one, duplicated one with more than one.
 */
async function settleEffects(bank: Bank, platform: FaultPlatform, consumers: Consumers, since: Date, timeoutMs: number) {
  const people = new Set(bank.people.map((person) => person.id));
  const rows = await bank.transactionSql<{ id: string; initiator_id: string; from_user_id: string | null; to_user_id: string | null }[]>`
    select id, initiator_id, from_user_id, to_user_id from transactions where status = 'COMPLETED' and created_at >= ${since}`;
  const completed: CompletedTransaction[] = rows.map((row) => ({
    id: row.id,
    parties: [...new Set([row.initiator_id, row.from_user_id, row.to_user_id])].filter((id): id is string => id !== null && people.has(id)),
  }));
  const listenerOf = new Map(consumers.listeners.map((listener) => [listener.userId, listener]));
  const count = async () => {
    const notices = await countCompletionNotices(platform.databaseUrl('notification'));
    return {
      notifications: figuresOf(completed.map((transaction) => notices.get(transaction.id) ?? 0)),
      feed: figuresOf(completed.flatMap((transaction) => transaction.parties.map((party) => listenerOf.get(party)?.completedByTransaction.get(transaction.id) ?? 0))),
      webhooks: figuresOf(completed.map((transaction) => consumers.receiver.deliveriesByTransaction.get(transaction.id)?.size ?? 0)),
    };
  };
  const violations: string[] = [];
  const figures = await waitFor(
    async () => {
      const current = await count();
      return Object.values(current).every((consumer) => consumer.lost === 0) && current;
    },
    { timeoutMs, intervalMs: 500, message: 'every completed transaction’s notification, feed items and webhook delivery' },
  ).catch(async (error: Error) => {
    violations.push(error.message);
    return count();
  });
  for (const [name, consumer] of Object.entries(figures)) {
    if (consumer.lost > 0) violations.push(`${name}: ${consumer.lost} of ${consumer.expected} effects lost`);
    if (consumer.duplicated > 0) violations.push(`${name}: ${consumer.duplicated} of ${consumer.expected} effects duplicated`);
  }
  if (figures.notifications.lost > 0) {
    const notices = await countCompletionNotices(platform.databaseUrl('notification'));
    const lostIds = completed.filter((transaction) => !notices.has(transaction.id)).map((transaction) => transaction.id);
    violations.push(...(await traceLostNotifications(bank, platform, lostIds.slice(0, EXAMPLES_MAX))));
  }
  return { completed: completed.length, figures, violations };
}

/**
 * Where a notification got lost on its way, for the report: whether the transaction subgraph's outbox holds
 * its COMPLETED event and sent it, and whether the notification subgraph recorded that event as processed.
 */
async function traceLostNotifications(bank: Bank, platform: FaultPlatform, ids: string[]): Promise<string[]> {
  const events = await bank.transactionSql<{ transaction_id: string; event_id: string; sent_at: Date | null; type: string }[]>`
    select envelope->'data'->>'transactionId' as transaction_id, envelope->>'id' as event_id, sent_at, envelope->'data'->>'type' as type
    from outbox where envelope->>'type' = 'transaction.status' and envelope->'data'->>'status' = 'COMPLETED'
      and envelope->'data'->>'transactionId' in ${bank.transactionSql(ids)}`;
  const notificationSql = postgres(platform.databaseUrl('notification'), { max: 1, onnotice: () => {} });
  try {
    const eventIds = events.map((event) => event.event_id);
    const processed = new Set(
      eventIds.length === 0 ? [] : (await notificationSql<{ event_id: string }[]>`select event_id from processed_events where event_id in ${notificationSql(eventIds)}`).map((row) => row.event_id),
    );
    return ids.map((id) => {
      const found = events.filter((event) => event.transaction_id === id);
      const trace = found.map((event) => `${event.type} event ${event.event_id} ${event.sent_at ? `sent ${event.sent_at.toISOString()}` : 'unsent'}, ${processed.has(event.event_id) ? 'processed' : 'not processed'}`);
      return `lost notification of ${id}: ${trace.join('; ') || 'no COMPLETED event in the outbox'}`;
    });
  } finally {
    await notificationSql.end({ timeout: 5 });
  }
}

/** One expected effect per entry of `counts` (how many arrived for it). */
function figuresOf(counts: readonly number[]): ConsumerFigures {
  return { expected: counts.length, lost: counts.filter((count) => count === 0).length, duplicated: counts.filter((count) => count > 1).length };
}

/** The report as Markdown lines, for the console and the benchmark's results file. */
export function describeFaultMatrix(report: FaultMatrixReport): string[] {
  const consumer = (name: string, figures: ConsumerFigures) => `| ${name} | ${figures.expected} | ${figures.lost} | ${figures.duplicated} |`;
  return [
    `${report.operations} operations (${report.inFlightSeenMax} in flight at most) in ${(report.durationMs / 1000).toFixed(1)} s; ${report.completedTransactions} transactions completed.`,
    `Retries: ${report.retries} (${Object.entries(report.retriesByCode).map(([code, count]) => `${code} ${count}`).join(', ') || 'none'}); requests without a definitive answer: ${report.unanswered}.`,
    `Ledger snapshots checked during the run: ${report.snapshots.checked} (${report.snapshots.failedReads} reads failed while a process was down).`,
    `Every effect had arrived ${(report.effectsSettleMs / 1000).toFixed(1)} s after the workload and the ledger checks were done.`,
    '',
    '| fault | after operation | done in | next completed operation after |',
    '| --- | ---: | ---: | ---: |',
    ...report.faults.map((fault) => `| ${fault.kind} | ${fault.atOperation} | ${fault.injectMs} ms | ${fault.recoveryMs === null ? 'never' : `${fault.recoveryMs} ms`} |`),
    '',
    '| consumer | effects expected | lost | duplicated |',
    '| --- | ---: | ---: | ---: |',
    consumer('notifications', report.consumers.notifications),
    consumer('transaction feed (per party)', report.consumers.feed),
    consumer('webhook deliveries (distinct ids)', report.consumers.webhooks),
    '',
    `Webhook POSTs repeating a delivery id already received: ${report.webhookRepeatedPosts}. Feed resubscriptions: ${report.feedResubscriptions}.`,
    `Withdrawals that failed after their debit (CARBON given back): ${Object.entries(report.failedWithdrawals).map(([reason, count]) => `${count} × ${reason}`).join('; ') || 'none'}.`,
    `Answers: ${Object.entries(report.answers).sort().map(([answer, count]) => `${answer} ${count}`).join(', ')}.`,
    `Invariant violations: ${report.violations.length}${report.violations.length > 0 ? `\n${report.violations.map((line) => `- ${line}`).join('\n')}` : ''}`,
  ];
}
