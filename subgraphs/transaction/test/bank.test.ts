/**
 * A bank test in the manner of Jepsen's: many clients move money between a fixed set of accounts at once,
 * through the gateway, on real PostgreSQL and Kafka, while an auditor reads the whole ledger again and again.
 * Whatever the interleaving, no snapshot may show money created or destroyed or a balance below zero, and
 * afterwards every transaction's outcome must match the ledger exactly.
 */
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TOPICS } from '../../../lib/events/envelope.js';
import { ensureTopics } from '../../../scripts/infra/kafka-broker.js';
import { type GraphQLResult, type Stack, startStack } from '../../../test/support/stack.js';
import { waitFor } from '../../../test/support/wait.js';

const USER_COUNT = 20;
const SELLER_COUNT = 8;
const OPERATION_COUNT = 2_000;
const IN_FLIGHT_MAX = 40;
const START_USD = '1000.00';
const START_ETH = '5';
const MARKET_TONNES = '100000';
const PENDING_WAIT_MS = 30_000;
/** Violations kept for the report; one is enough to fail, a few help to see a pattern. */
const VIOLATIONS_KEPT_MAX = 20;
/** The run takes about 50 s on an idle two-core machine; the bound leaves room for one shared with other test runs. */
const TEST_TIMEOUT_MS = 180_000;

const SCALE = { USD: 2, ETH: 18, CARBON: 18 } as const;
type Currency = keyof typeof SCALE;
const CURRENCIES = Object.keys(SCALE) as Currency[];
const ADMIN = { email: 'bank-admin@example.com', password: 'bank admin password' };

const REGISTER = /* GraphQL */ `mutation ($input: RegisterInput!) { register(input: $input) { token user { id } } }`;
const LOGIN = /* GraphQL */ `mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { token user { id } } }`;
const DEPOSIT = /* GraphQL */ `mutation ($input: DepositInput!, $key: String!) { deposit(input: $input, idempotencyKey: $key) { id status } }`;
const SUPPLY = /* GraphQL */ `mutation ($input: SupplyMarketInput!, $key: String!) { supplyMarket(input: $input, idempotencyKey: $key) { id status } }`;
const TRANSFER = /* GraphQL */ `mutation ($input: TransferInput!, $key: String!) { transfer(input: $input, idempotencyKey: $key) { id status } }`;
const PAY = /* GraphQL */ `mutation ($input: PayInput!, $key: String!) { pay(input: $input, idempotencyKey: $key) { id status } }`;
const QUOTE = /* GraphQL */ `mutation ($input: QuoteCarbonPurchaseInput!) { quoteCarbonPurchase(input: $input) { id tonnes totalUsd } }`;
const PURCHASE = /* GraphQL */ `mutation ($input: PurchaseCarbonCreditsInput!, $key: String!) { purchaseCarbonCredits(input: $input, idempotencyKey: $key) { id status } }`;
const SNAPSHOT = /* GraphQL */ `query { ledgerSnapshot(first: 10000) { takenAt totals { currency total } accounts { walletId owner { id } systemAccount currency balance } } }`;

// ---- amounts, as the client sees them: decimal strings, checked here without the product's own money code ----

function minorOf(text: string, currency: Currency): bigint {
  const negative = text.startsWith('-');
  const [whole = '0', fraction = ''] = (negative ? text.slice(1) : text).split('.');
  const minor = BigInt(whole) * 10n ** BigInt(SCALE[currency]) + BigInt(fraction.padEnd(SCALE[currency], '0') || '0');
  return negative ? -minor : minor;
}

function decimalOf(minor: bigint, currency: Currency): string {
  if (minor < 0n) return `-${decimalOf(-minor, currency)}`;
  const digits = minor.toString().padStart(SCALE[currency] + 1, '0');
  return `${digits.slice(0, -SCALE[currency])}.${digits.slice(-SCALE[currency])}`;
}

/** Log-uniform between `low` and `high` (major units), so small and large amounts both come up often. */
function randomMinor(currency: Currency, low: number, high: number): bigint {
  const major = Math.exp(Math.log(low) + Math.random() * (Math.log(high) - Math.log(low)));
  const minor = BigInt(Math.round(major * 10 ** Math.min(SCALE[currency], 6))) * 10n ** BigInt(Math.max(0, SCALE[currency] - 6));
  return minor > 0n ? minor : 1n;
}

/** Usually an amount the sender may well have; one time in ten far more than anyone holds, to be refused. */
const TYPICAL_MAJOR: Record<Currency, [number, number, number]> = { USD: [0.01, 400, 5_000], ETH: [0.000001, 2, 50], CARBON: [0.000001, 50, 10_000] };
function randomAmount(currency: Currency): string {
  const [low, high, overdraft] = TYPICAL_MAJOR[currency];
  return decimalOf(Math.random() < 0.1 ? minorOf(String(overdraft), currency) : randomMinor(currency, low, high), currency);
}

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;
const countBy = <T>(items: readonly T[], keyOf: (item: T) => string) =>
  items.reduce<Record<string, number>>((counts, item) => ({ ...counts, [keyOf(item)]: (counts[keyOf(item)] ?? 0) + 1 }), {});

// ---- the system under test ----

interface Person {
  id: string;
  email: string;
  token: string;
  role: 'BUYER' | 'SELLER';
}

let stack: Stack;
let userSql: postgres.Sql;
let transactionSql: postgres.Sql;
let admin: { token: string };
let people: Person[];
const setupTransactionIds = new Set<string>();
const brokers = inject('kafkaBrokers');
const topicPrefix = `bank-${randomUUID().slice(0, 8)}.`;

const errorOf = (result: GraphQLResult) => result.errors?.[0]?.extensions as { code?: string; transactionId?: string } | undefined;

async function asAdmin(document: string, variables: Record<string, unknown>) {
  const result = await stack.graphql(document, variables, admin.token);
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  return result.data as Record<string, { id: string; status: string }>;
}

beforeAll(async () => {
  // ensureTopics sometimes fails while the broker's metadata does not know a just-created topic yet
  // (kafkajs waits out LEADER_NOT_AVAILABLE only); it creates only what is missing, so trying again is safe.
  await waitFor(() => ensureTopics(brokers.split(','), TOPICS.map((topic) => `${topicPrefix}${topic}`), 3).then(() => true), {
    timeoutMs: 30_000,
    intervalMs: 500,
    message: 'the test topics',
  });
  stack = await startStack({
    env: { KAFKA_BROKERS: brokers, KAFKA_TOPIC_PREFIX: topicPrefix },
    serviceEnv: { user: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password }, price: { PRICE_BACKFILL_DAYS: '1' } },
  });
  userSql = postgres(stack.subgraphs.user!.databaseUrl, { max: 2, onnotice: () => {} });
  transactionSql = postgres(stack.subgraphs.transaction!.databaseUrl, { max: 2, onnotice: () => {} });
  await waitFor(async () => (await stack.graphql(/* GraphQL */ `{ price(symbol: MCO2) { stale } }`)).data?.price?.stale === false, {
    timeoutMs: 20_000,
    message: 'a fresh MCO2 price to quote at',
  });
  const login = await stack.graphql(LOGIN, ADMIN);
  admin = { token: login.data!.login.token };
  people = await Promise.all(
    Array.from({ length: USER_COUNT }, async (_, index) => {
      const role = index < SELLER_COUNT ? 'SELLER' : 'BUYER';
      const email = `bank-${index}-${randomUUID().slice(0, 8)}@example.com`;
      const result = await stack.graphql(REGISTER, { input: { email, password: 'bank test password', displayName: `Customer ${index}`, role } });
      return { id: result.data!.register.user.id, email, token: result.data!.register.token, role } as Person;
    }),
  );
  const deposits = people.flatMap((person) =>
    [['USD', START_USD] as const, ['ETH', START_ETH] as const].map(([currency, amount]) =>
      asAdmin(DEPOSIT, { input: { userId: person.id, currency, amount }, key: randomUUID() }).then((data) => data.deposit!),
    ),
  );
  const supply = asAdmin(SUPPLY, { input: { tonnes: MARKET_TONNES }, key: randomUUID() }).then((data) => data.supplyMarket!);
  for (const transaction of await Promise.all([...deposits, supply])) {
    expect(transaction.status).toBe('COMPLETED');
    setupTransactionIds.add(transaction.id);
  }
}, 90_000);

afterAll(async () => {
  await userSql?.end();
  await transactionSql?.end();
  await stack?.stop();
});

// ---- operations; each keeps its request so a client can retry it with the same idempotency key ----

type OperationKind = 'transfer' | 'payment' | 'purchaseByQuote' | 'purchaseAtMarket';

type Expectation =
  | { kind: 'movement'; fromId: string; toId: string; currency: Currency; amountMinor: bigint }
  | { kind: 'purchase'; buyerId: string; carbonMinor: bigint; usdMinor: bigint | null };

interface Request {
  document: string;
  variables: Record<string, unknown>;
  token: string;
  field: string;
}

interface Outcome {
  kind: OperationKind;
  transactionId: string | null;
  /** COMPLETED or PENDING for an accepted operation, else the refusal's code. */
  answer: string;
  expectation: Expectation | null;
  /** The idempotent mutation, when one was sent. */
  request: Request | null;
}

async function send(kind: OperationKind, request: Request, expectation: Expectation | null): Promise<Outcome> {
  const result = await stack.graphql(request.document, request.variables, request.token);
  const transaction = result.data?.[request.field] as { id: string; status: string } | undefined;
  if (transaction) return { kind, transactionId: transaction.id, answer: transaction.status, expectation, request };
  const error = errorOf(result);
  return { kind, transactionId: error?.transactionId ?? null, answer: error?.code ?? `no code: ${JSON.stringify(result)}`, expectation, request };
}

function movement(kind: 'transfer' | 'payment', from: Person): Promise<Outcome> {
  const currency = pick(CURRENCIES);
  const amount = randomAmount(currency);
  const key = randomUUID();
  const to = pick(people.filter((person) => person.id !== from.id && (kind === 'transfer' || person.role === 'SELLER')));
  const expectation: Expectation = { kind: 'movement', fromId: from.id, toId: to.id, currency, amountMinor: minorOf(amount, currency) };
  if (kind === 'transfer') {
    // Recipients are named by id or by email, as clients do.
    const input = { to: Math.random() < 0.5 ? to.id : to.email, currency, amount, memo: 'bank test' };
    return send(kind, { document: TRANSFER, variables: { input, key }, token: from.token, field: 'transfer' }, expectation);
  }
  const input = { sellerId: to.id, currency, amount, reference: `invoice ${key.slice(0, 8)}` };
  return send(kind, { document: PAY, variables: { input, key }, token: from.token, field: 'pay' }, expectation);
}

async function purchaseByQuote(buyer: Person): Promise<Outcome> {
  const input = Math.random() < 0.5 ? { tonnes: randomAmount('CARBON') } : { usd: decimalOf(randomMinor('USD', 0.01, 100) * (Math.random() < 0.1 ? 100n : 1n), 'USD') };
  const quoted = await stack.graphql(QUOTE, { input }, buyer.token);
  const quote = quoted.data?.quoteCarbonPurchase as { id: string; tonnes: string; totalUsd: string } | undefined;
  if (!quote) return { kind: 'purchaseByQuote', transactionId: null, answer: errorOf(quoted)?.code ?? JSON.stringify(quoted), expectation: null, request: null };
  const expectation: Expectation = { kind: 'purchase', buyerId: buyer.id, carbonMinor: minorOf(quote.tonnes, 'CARBON'), usdMinor: minorOf(quote.totalUsd, 'USD') };
  return send('purchaseByQuote', { document: PURCHASE, variables: { input: { quoteId: quote.id }, key: randomUUID() }, token: buyer.token, field: 'purchaseCarbonCredits' }, expectation);
}

function purchaseAtMarket(buyer: Person): Promise<Outcome> {
  const tonnes = randomAmount('CARBON');
  // One time in ten the limit is far below the market, which must refuse before any money moves.
  const maxPricePerTonne = Math.random() < 0.1 ? '0.0001' : '1000';
  const expectation: Expectation = { kind: 'purchase', buyerId: buyer.id, carbonMinor: minorOf(tonnes, 'CARBON'), usdMinor: null };
  const request = { document: PURCHASE, variables: { input: { tonnes, maxPricePerTonne }, key: randomUUID() }, token: buyer.token, field: 'purchaseCarbonCredits' };
  return send('purchaseAtMarket', request, expectation);
}

function randomOperation(): Promise<Outcome> {
  const actor = pick(people);
  const roll = Math.random();
  if (roll < 0.4) return movement('transfer', actor);
  if (roll < 0.6) return movement('payment', actor);
  if (roll < 0.8) return purchaseByQuote(actor);
  return purchaseAtMarket(actor);
}

/** Runs `count` operations with `inFlightMax` workers; answers every outcome and the most seen in flight at once. */
async function runWorkload(count: number, inFlightMax: number, operation: () => Promise<Outcome>) {
  const outcomes: Outcome[] = [];
  let started = 0;
  let inFlight = 0;
  let inFlightSeenMax = 0;
  const worker = async () => {
    while (started < count) {
      started += 1;
      inFlight += 1;
      inFlightSeenMax = Math.max(inFlightSeenMax, inFlight);
      try {
        outcomes.push(await operation());
      } finally {
        inFlight -= 1;
      }
    }
  };
  await Promise.all(Array.from({ length: inFlightMax }, worker));
  return { outcomes, inFlightSeenMax };
}

// ---- the auditor ----

interface Snapshot {
  takenAt: string;
  totals: { currency: Currency; total: string }[];
  accounts: { walletId: string; owner: { id: string } | null; systemAccount: string | null; currency: Currency; balance: string }[];
}

/** What money came in from outside during setup: the `external` account holds exactly minus this, always. */
function externalExpected(): Record<Currency, bigint> {
  return {
    USD: -BigInt(USER_COUNT) * minorOf(START_USD, 'USD'),
    ETH: -BigInt(USER_COUNT) * minorOf(START_ETH, 'ETH'),
    CARBON: -minorOf(MARKET_TONNES, 'CARBON'),
  };
}

/** Every way a snapshot can be wrong, as readable lines (empty when consistent). */
function snapshotViolations(snapshot: Snapshot, walletCount: number): string[] {
  const at = `snapshot at ${snapshot.takenAt}`;
  const violations: string[] = [];
  if (snapshot.accounts.length !== walletCount) violations.push(`${at}: ${snapshot.accounts.length} accounts, expected ${walletCount}`);
  for (const { currency, total } of snapshot.totals) if (minorOf(total, currency) !== 0n) violations.push(`${at}: ${currency} total is ${total}`);
  const userSum: Record<Currency, bigint> = { USD: 0n, ETH: 0n, CARBON: 0n };
  const systemSum: Record<Currency, bigint> = { USD: 0n, ETH: 0n, CARBON: 0n };
  for (const account of snapshot.accounts) {
    const balance = minorOf(account.balance, account.currency);
    if (account.systemAccount === null) userSum[account.currency] += balance;
    else systemSum[account.currency] += balance;
    if ((account.systemAccount === null) === (account.owner === null)) violations.push(`${at}: wallet ${account.walletId} has owner ${JSON.stringify(account.owner)} and system account ${account.systemAccount}`);
    if (balance < 0n && account.systemAccount !== 'EXTERNAL') violations.push(`${at}: wallet ${account.walletId} (${account.systemAccount ?? account.owner?.id}) holds ${account.balance} ${account.currency}`);
    if (account.systemAccount === 'EXTERNAL' && balance !== externalExpected()[account.currency]) violations.push(`${at}: external ${account.currency} is ${account.balance}`);
  }
  for (const currency of CURRENCIES) {
    if (userSum[currency] !== -systemSum[currency]) violations.push(`${at}: users hold ${decimalOf(userSum[currency], currency)} ${currency}, system accounts ${decimalOf(systemSum[currency], currency)}`);
  }
  return violations;
}

async function takeSnapshot(): Promise<Snapshot> {
  const result = await stack.graphql(SNAPSHOT, {}, admin.token);
  if (!result.data?.ledgerSnapshot) throw new Error(`ledgerSnapshot failed: ${JSON.stringify(result.errors)}`);
  return result.data.ledgerSnapshot as Snapshot;
}

/** Takes snapshots back to back until `stop()`; each one is checked as it arrives. */
function startAuditor(walletCount: number) {
  let stopped = false;
  let checked = 0;
  const violations: string[] = [];
  const running = (async () => {
    while (!stopped) {
      const found = snapshotViolations(await takeSnapshot(), walletCount);
      violations.push(...found.slice(0, VIOLATIONS_KEPT_MAX - violations.length));
      checked += 1;
    }
  })();
  // A failed read is reported when stop() is awaited, not as an unhandled rejection in between.
  running.catch(() => {});
  return {
    async stop() {
      stopped = true;
      await running;
      return { checked, violations };
    },
  };
}

// ---- after the run: the transaction subgraph's records against the user subgraph's ledger ----

interface TransactionRecord {
  id: string;
  status: string;
  failure_code: string | null;
  price_per_tonne: string | null;
  posting: { entries: { account: { userId?: string; system?: string }; currency: Currency; amountMinor: string }[] };
}

const entryKey = (owner: string, currency: string, amountMinor: bigint | string) => `${owner}:${currency}=${amountMinor}`;

/** What `expectation` says the posting must contain, as sorted entry keys. */
function expectedEntries(expectation: Expectation, record: TransactionRecord): string[] {
  if (expectation.kind === 'movement') {
    const { fromId, toId, currency, amountMinor } = expectation;
    return [entryKey(`u:${fromId}`, currency, -amountMinor), entryKey(`u:${toId}`, currency, amountMinor)].sort();
  }
  // At market the price is the one of the moment, recorded on the transaction: cost = tonnes × price, rounded up to the cent.
  const usdMinor = expectation.usdMinor ?? costInCents(expectation.carbonMinor, record.price_per_tonne ?? '');
  return [
    entryKey(`u:${expectation.buyerId}`, 'USD', -usdMinor),
    entryKey('s:market', 'USD', usdMinor),
    entryKey('s:market', 'CARBON', -expectation.carbonMinor),
    entryKey(`u:${expectation.buyerId}`, 'CARBON', expectation.carbonMinor),
  ].sort();
}

function costInCents(carbonMinor: bigint, pricePerTonne: string): bigint {
  const [whole = '0', fraction = ''] = pricePerTonne.split('.');
  const priceUnits = BigInt(whole + fraction);
  const denominator = 10n ** BigInt(SCALE.CARBON + fraction.length - SCALE.USD);
  return (carbonMinor * priceUnits + denominator - 1n) / denominator;
}

async function readLedger() {
  const transactions = await transactionSql<TransactionRecord[]>`select id, status, failure_code, price_per_tonne::text, posting from transactions`;
  const entries = await userSql<{ posting_id: string; owner: string; currency: Currency; amount: string; balance_after: string }[]>`
    select e.posting_id, coalesce('u:' || w.user_id::text, 's:' || w.system_account::text) as owner, e.currency, e.amount::text, e.balance_after::text
    from posting_entries e join wallets w on w.id = e.wallet_id`;
  const postingIds = (await userSql<{ id: string }[]>`select id from postings`).map((row) => row.id);
  const entriesOf = new Map<string, string[]>();
  for (const entry of entries) entriesOf.set(entry.posting_id, [...(entriesOf.get(entry.posting_id) ?? []), entryKey(entry.owner, entry.currency, entry.amount)]);
  return { transactions, entries, postingIds, entriesOf };
}

/** The invariants of a finished run; answers the figures for the report. */
async function checkLedger(outcomes: readonly Outcome[]) {
  const { transactions, entries, postingIds, entriesOf } = await readLedger();
  const byId = new Map(transactions.map((record) => [record.id, record]));
  const completed = transactions.filter((record) => record.status === 'COMPLETED');
  const failed = transactions.filter((record) => record.status === 'FAILED');
  const postings = new Set(postingIds);

  expect(transactions.filter((record) => record.status === 'PENDING').map((record) => record.id)).toEqual([]);
  expect(completed.filter((record) => !postings.has(record.id)).map((record) => record.id), 'COMPLETED without a posting').toEqual([]);
  expect(failed.filter((record) => postings.has(record.id)).map((record) => record.id), 'FAILED with a posting').toEqual([]);
  expect(postingIds.filter((id) => byId.get(id)?.status !== 'COMPLETED'), 'postings without a COMPLETED transaction').toEqual([]);
  expect(postingIds.filter((id) => !entriesOf.has(id)), 'postings without entries').toEqual([]);

  const unbalanced = new Map<string, bigint>();
  for (const entry of entries) unbalanced.set(`${entry.posting_id}:${entry.currency}`, (unbalanced.get(`${entry.posting_id}:${entry.currency}`) ?? 0n) + BigInt(entry.amount));
  expect([...unbalanced].filter(([, sum]) => sum !== 0n).map(([key]) => key), 'postings whose entries do not sum to zero').toEqual([]);
  expect(entries.filter((entry) => BigInt(entry.balance_after) < 0n && entry.owner !== 's:external'), 'a balance that went below zero').toEqual([]);

  // Each posting is the one the transaction asked for, and the one the client asked for.
  const requested = (record: TransactionRecord) =>
    record.posting.entries.map((entry) => entryKey(entry.account.userId ? `u:${entry.account.userId}` : `s:${entry.account.system}`, entry.currency, entry.amountMinor)).sort();
  expect(completed.filter((record) => JSON.stringify(requested(record)) !== JSON.stringify([...(entriesOf.get(record.id) ?? [])].sort())).map((record) => record.id)).toEqual([]);
  const clientMismatches = outcomes.flatMap((outcome) => {
    const record = outcome.transactionId ? byId.get(outcome.transactionId) : undefined;
    if (!record || record.status !== 'COMPLETED' || !outcome.expectation) return [];
    const applied = [...(entriesOf.get(record.id) ?? [])].sort();
    return JSON.stringify(applied) === JSON.stringify(expectedEntries(outcome.expectation, record)) ? [] : [{ id: record.id, applied, expected: expectedEntries(outcome.expectation, record) }];
  });
  expect(clientMismatches).toEqual([]);

  // What each client was told agrees with what was recorded.
  const disagreements = outcomes.flatMap((outcome) => {
    if (!outcome.transactionId) return [];
    const record = byId.get(outcome.transactionId);
    const told = outcome.answer === 'PENDING' ? null : outcome.answer === 'COMPLETED' ? 'COMPLETED' : `FAILED ${outcome.answer}`;
    const recorded = record ? (record.status === 'COMPLETED' ? 'COMPLETED' : `${record.status} ${record.failure_code}`) : 'missing';
    return told === null || told === recorded ? [] : [{ id: outcome.transactionId, told, recorded }];
  });
  expect(disagreements).toEqual([]);

  const balances = await userSql<{ id: string; owner: string; balance: string; posted: string }[]>`
    select w.id, coalesce('u:' || w.user_id::text, 's:' || w.system_account::text) as owner, w.balance::text,
           coalesce((select sum(e.amount) from posting_entries e where e.wallet_id = w.id), 0)::text as posted
    from wallets w`;
  expect(balances.filter((wallet) => wallet.balance !== wallet.posted), 'a balance that is not the sum of its entries').toEqual([]);
  expect(balances.filter((wallet) => BigInt(wallet.balance) < 0n && wallet.owner !== 's:external')).toEqual([]);

  return { transactions, completed, failedByCode: countBy(failed, (record) => record.failure_code ?? 'none'), postings: postingIds.length };
}

describe('the bank', () => {
  it('conserves every currency and never overdraws, whatever runs concurrently', async () => {
    const startedAtMs = Date.now();
    const cpuAtStart = process.cpuUsage();
    const walletCount = (await userSql<{ count: number }[]>`select count(*)::int as count from wallets`)[0]!.count;
    const start = await takeSnapshot();
    expect(snapshotViolations(start, walletCount)).toEqual([]);
    for (const person of people) {
      const held = (currency: Currency) => start.accounts.find((account) => account.owner?.id === person.id && account.currency === currency)?.balance;
      expect([held('USD'), held('ETH'), held('CARBON')]).toEqual([decimalOf(minorOf(START_USD, 'USD'), 'USD'), decimalOf(minorOf(START_ETH, 'ETH'), 'ETH'), decimalOf(0n, 'CARBON')]);
    }

    const auditor = startAuditor(walletCount);
    const { outcomes, inFlightSeenMax } = await runWorkload(OPERATION_COUNT, IN_FLIGHT_MAX, randomOperation);
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

    await waitFor(async () => (await transactionSql<{ count: number }[]>`select count(*)::int as count from transactions where status = 'PENDING'`)[0]!.count === 0, {
      timeoutMs: PENDING_WAIT_MS,
      message: 'no transaction left PENDING',
    });
    // A client that got no answer asks again with the same key, so every recorded transaction is one a client knows.
    const unanswered = outcomes.filter((outcome) => outcome.answer === 'UPSTREAM_UNAVAILABLE' && outcome.request);
    const retries = await Promise.all(unanswered.map((outcome) => send(outcome.kind, outcome.request!, outcome.expectation)));
    expect(retries.filter((outcome) => !(outcome.transactionId || (outcome.answer === 'QUOTE_EXPIRED' && outcome.kind.startsWith('purchase'))))).toEqual([]);
    const final = await takeSnapshot();
    expect(snapshotViolations(final, walletCount)).toEqual([]);
    const all = [...outcomes, ...retries];
    const ledger = await checkLedger(all);
    // The final snapshot shows exactly what the database holds.
    const stored = await userSql<{ id: string; balance: string }[]>`select id, balance::text from wallets`;
    expect(Object.fromEntries(final.accounts.map((account) => [account.walletId, minorOf(account.balance, account.currency).toString()]))).toEqual(
      Object.fromEntries(stored.map((wallet) => [wallet.id, wallet.balance])),
    );
    // Every transaction recorded is one a client asked for (setup or workload): nothing appeared from nowhere.
    const asked = new Set([...setupTransactionIds, ...all.flatMap((outcome) => (outcome.transactionId ? [outcome.transactionId] : []))]);
    expect(ledger.transactions.filter((record) => !asked.has(record.id)).map((record) => record.id)).toEqual([]);

    console.log(
      `bank: ${outcomes.length} operations (${JSON.stringify(countBy(outcomes, (outcome) => outcome.kind))}), up to ${inFlightSeenMax} in flight, ` +
        `answers ${JSON.stringify(answers)}, ${retries.length} same-key retries of unanswered ones; recorded ${ledger.transactions.length} transactions (${setupTransactionIds.size} setup): ` +
        `${ledger.completed.length} COMPLETED, FAILED by code ${JSON.stringify(ledger.failedByCode)}, ${ledger.postings} postings; ` +
        `${audit.checked} concurrent snapshots + 2 checked; workload ${workloadMs} ms (${workloadCpuMs} ms CPU in this process), total ${Date.now() - startedAtMs} ms`,
    );
  }, TEST_TIMEOUT_MS);
});
