/**
 * The Jepsen-style bank workload and its checks, shared by the bank test and the crash-recovery test.
 *
 * Both tests make the same claim (money is neither created nor destroyed, nothing is overdrawn, every client's
 * answer matches the ledger) and differ only in what goes wrong meanwhile: heavy concurrency in one, a SIGKILL
 * of the transaction subgraph in the other. One copy of the workload and the checker keeps that claim the same
 * in both: a hole found in one test is closed in the other, and neither can quietly check less than the other.
 *
 * Amounts are handled here as decimal strings and bigints, deliberately without the product's own money code,
 * so that a bug there cannot hide itself from the checks.
 */
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { expect } from 'vitest';
import { derivedUuid } from '../../lib/ids.js';
import { register } from './people.js';
import type { GraphQLResult, Stack } from './stack.js';
import { waitFor } from './wait.js';

/** Enough accounts that transfers collide on the same wallets often, few enough that each one sees many of them. */
export const USER_COUNT = 20;
export const SELLER_COUNT = 8;
export const START_USD = '1000.00';
export const START_ETH = '5';
export const MARKET_TONNES = '100000';
/** Violations kept for the report; one is enough to fail, a few help to see a pattern. */
const VIOLATIONS_KEPT_MAX = 20;

const SCALE = { USD: 2, ETH: 18, CARBON: 18 } as const;
export type Currency = keyof typeof SCALE;
const CURRENCIES = Object.keys(SCALE) as Currency[];

const LOGIN = /* GraphQL */ `mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { token user { id } } }`;
const DEPOSIT = /* GraphQL */ `mutation ($input: DepositInput!, $key: String!) { deposit(input: $input, idempotencyKey: $key) { id status } }`;
const SUPPLY = /* GraphQL */ `mutation ($input: SupplyMarketInput!, $key: String!) { supplyMarket(input: $input, idempotencyKey: $key) { id status } }`;
const TRANSFER = /* GraphQL */ `mutation ($input: TransferInput!, $key: String!) { transfer(input: $input, idempotencyKey: $key) { id status } }`;
const PAY = /* GraphQL */ `mutation ($input: PayInput!, $key: String!) { pay(input: $input, idempotencyKey: $key) { id status } }`;
const QUOTE = /* GraphQL */ `mutation ($input: QuoteCarbonPurchaseInput!) { quoteCarbonPurchase(input: $input) { id tonnes totalUsd } }`;
const PURCHASE = /* GraphQL */ `mutation ($input: PurchaseCarbonCreditsInput!, $key: String!) { purchaseCarbonCredits(input: $input, idempotencyKey: $key) { id status } }`;
const RETIRE = /* GraphQL */ `mutation ($input: RetireCarbonCreditsInput!, $key: String!) { retireCarbonCredits(input: $input, idempotencyKey: $key) { id status } }`;
const WITHDRAW = /* GraphQL */ `mutation ($input: WithdrawCarbonInput!, $key: String!) { withdrawCarbon(input: $input, idempotencyKey: $key) { id status } }`;
const SNAPSHOT = /* GraphQL */ `query { ledgerSnapshot(first: 10000) { takenAt totals { currency total } accounts { walletId owner { id } systemAccount currency balance } } }`;

// ---- amounts, as the client sees them ----

export function minorOf(text: string, currency: Currency): bigint {
  const negative = text.startsWith('-');
  const [whole = '0', fraction = ''] = (negative ? text.slice(1) : text).split('.');
  const minor = BigInt(whole) * 10n ** BigInt(SCALE[currency]) + BigInt(fraction.padEnd(SCALE[currency], '0') || '0');
  return negative ? -minor : minor;
}

export function decimalOf(minor: bigint, currency: Currency): string {
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
export const countBy = <T>(items: readonly T[], keyOf: (item: T) => string) =>
  items.reduce<Record<string, number>>((counts, item) => ({ ...counts, [keyOf(item)]: (counts[keyOf(item)] ?? 0) + 1 }), {});

const errorOf = (result: GraphQLResult) => result.errors?.[0]?.extensions as { code?: string; transactionId?: string } | undefined;

// ---- operations; each keeps its request so a client can retry it with the same idempotency key ----

export interface Person {
  id: string;
  email: string;
  token: string;
  role: 'BUYER' | 'SELLER';
}

export type OperationKind = 'transfer' | 'payment' | 'purchaseByQuote' | 'purchaseAtMarket' | 'retirement' | 'withdrawal';

/** How often each operation comes up, as weights; the bank test's mix moves money between customers and the market. */
export type OperationMix = Partial<Record<OperationKind, number>>;
export const BANK_MIX: OperationMix = { transfer: 0.4, payment: 0.2, purchaseByQuote: 0.2, purchaseAtMarket: 0.2 };

/**
 * Where withdrawals go: an ordinary address (ethers' documentation example) that nobody on the platform owns,
 * outside the reserved low range.
 */
export const WITHDRAWAL_ADDRESS = '0x8ba1f109551bD432803012645Ac136ddd64DBA72';

/** What the client asked to move, so the checker can hold the posting to it without trusting the service's record. */
export type Expectation =
  | { kind: 'movement'; fromId: string; toId: string; currency: Currency; amountMinor: bigint }
  | { kind: 'outflow'; fromId: string; system: 'retired' | 'external'; amountMinor: bigint }
  | { kind: 'purchase'; buyerId: string; carbonMinor: bigint; usdMinor: bigint | null };

export interface Request {
  document: string;
  variables: Record<string, unknown>;
  token: string;
  field: string;
}

export interface Outcome {
  kind: OperationKind;
  transactionId: string | null;
  /** COMPLETED or PENDING for an accepted operation, else the refusal's code. */
  answer: string;
  expectation: Expectation | null;
  /** The idempotent mutation, when one was sent. */
  request: Request | null;
}

/** Live counts a caller can watch while the workload runs, e.g. to strike at a chosen moment. */
export interface WorkloadProgress {
  finished: number;
  inFlight: number;
}

export interface WorkloadOptions {
  /** Updated as operations start and finish; a fresh one when not given. */
  progress?: WorkloadProgress;
  /** Awaited by the worker after each operation, before its next: how a client backs off. */
  afterEach?: (outcome: Outcome) => unknown;
}

/**
 * Runs `count` operations with `inFlightMax` workers; answers every outcome and the most seen in flight at once.
 * Workers rather than one `Promise.all` of everything, so the concurrency is what the test says, not what the
 * event loop happens to reach, and the test can assert that it was reached.
 */
export async function runWorkload(count: number, inFlightMax: number, operation: () => Promise<Outcome>, options: WorkloadOptions = {}) {
  const progress = options.progress ?? { finished: 0, inFlight: 0 };
  const outcomes: Outcome[] = [];
  let started = 0;
  let inFlightSeenMax = 0;
  const worker = async () => {
    while (started < count) {
      started += 1;
      progress.inFlight += 1;
      inFlightSeenMax = Math.max(inFlightSeenMax, progress.inFlight);
      let outcome: Outcome;
      try {
        outcome = await operation();
      } finally {
        progress.inFlight -= 1;
      }
      outcomes.push(outcome);
      progress.finished += 1;
      await options.afterEach?.(outcome);
    }
  };
  await Promise.all(Array.from({ length: inFlightMax }, worker));
  return { outcomes, inFlightSeenMax };
}

// ---- the auditor's view: one ledgerSnapshot ----

export interface Snapshot {
  takenAt: string;
  totals: { currency: Currency; total: string }[];
  accounts: { walletId: string; owner: { id: string } | null; systemAccount: string | null; currency: Currency; balance: string }[];
}

/**
 * What money came in from outside during setup: the `external` account holds exactly minus this, always, but for
 * CARBON withdrawn to the chain (which goes back to `external`).
 */
function externalExpected(): Record<Currency, bigint> {
  return {
    USD: -BigInt(USER_COUNT) * minorOf(START_USD, 'USD'),
    ETH: -BigInt(USER_COUNT) * minorOf(START_ETH, 'ETH'),
    CARBON: -minorOf(MARKET_TONNES, 'CARBON'),
  };
}

/**
 * Every way a snapshot can be wrong, as readable lines (empty when consistent). `withdrawnCarbonMaxMinor` is the
 * most CARBON withdrawals may have taken out by then: the `external` CARBON may have grown by up to that much.
 */
export function snapshotViolations(snapshot: Snapshot, walletCount: number, withdrawnCarbonMaxMinor = 0n): string[] {
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
    if (account.systemAccount === 'EXTERNAL') {
      const expected = externalExpected()[account.currency];
      const slack = account.currency === 'CARBON' ? withdrawnCarbonMaxMinor : 0n;
      if (balance < expected || balance > expected + slack) violations.push(`${at}: external ${account.currency} is ${account.balance}`);
    }
  }
  for (const currency of CURRENCIES) {
    if (userSum[currency] !== -systemSum[currency]) violations.push(`${at}: users hold ${decimalOf(userSum[currency], currency)} ${currency}, system accounts ${decimalOf(systemSum[currency], currency)}`);
  }
  return violations;
}

// ---- after the run: the transaction subgraph's records against the user subgraph's ledger ----

export interface TransactionRecord {
  id: string;
  type: string;
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
  if (expectation.kind === 'outflow') {
    return [entryKey(`u:${expectation.fromId}`, 'CARBON', -expectation.amountMinor), entryKey(`s:${expectation.system}`, 'CARBON', expectation.amountMinor)].sort();
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

// ---- the bank: its customers, the workload's operations and the checks, over one running stack ----

/**
 * What the bank needs of a running platform: the gateway, and the user and transaction databases to check. A
 * Stack is one; a test on separate processes hands in its own.
 */
export interface BankPlatform {
  gatewayUrl: string;
  graphql: Stack['graphql'];
  subgraphs: Partial<Record<'user' | 'transaction', { databaseUrl: string }>>;
}

export interface BankOptions {
  /** Names this test's customers, memos and admin, so that its rows are told apart from another test's. */
  label: string;
  /** The admin the user subgraph was started with (ADMIN_EMAIL, ADMIN_PASSWORD): deposits and snapshots need one. */
  admin: { email: string; password: string };
}

/**
 * The customers and databases of one stack, with what the workload and the checks do to them. The database
 * clients are made at once and the customers only by `setUp()`, so a test can close the bank in `afterAll`
 * even when setting it up failed half-way.
 */
export class Bank {
  readonly userSql: postgres.Sql;
  readonly transactionSql: postgres.Sql;
  people: Person[] = [];
  /** The deposits and market supply of `setUp()`: the only transactions no workload client asked for. */
  readonly setupTransactionIds = new Set<string>();
  /** The CARBON every withdrawal sent so far asked for: the most `external` CARBON can have grown by. */
  withdrawalsAskedMinor = 0n;
  private adminToken = '';

  constructor(
    readonly stack: BankPlatform,
    private readonly options: BankOptions,
  ) {
    this.userSql = postgres(stack.subgraphs.user!.databaseUrl, { max: 2, onnotice: () => {} });
    this.transactionSql = postgres(stack.subgraphs.transaction!.databaseUrl, { max: 2, onnotice: () => {} });
  }

  /**
   * Signs the admin in, registers `USER_COUNT` customers (the first `SELLER_COUNT` sellers, so payments have
   * somewhere to go) and funds them and the market. Purchases quote at the MCO2 price, so it waits for one first.
   */
  async setUp(): Promise<void> {
    const { stack } = this;
    const { label, admin } = this.options;
    await waitFor(async () => (await stack.graphql(/* GraphQL */ `{ price(symbol: MCO2) { stale } }`)).data?.price?.stale === false, {
      timeoutMs: 20_000,
      message: 'a fresh MCO2 price to quote at',
    });
    const login = await stack.graphql(LOGIN, admin);
    this.adminToken = login.data!.login.token;
    this.people = await Promise.all(
      Array.from({ length: USER_COUNT }, async (_, index) => {
        const role = index < SELLER_COUNT ? 'SELLER' : 'BUYER';
        const email = `${label}-${index}-${randomUUID().slice(0, 8)}@example.com`;
        const registered = await register(stack.gatewayUrl, `Customer ${index}`, { email, password: `${label} test password`, role });
        return { id: registered.id, email, token: registered.token, role } as Person;
      }),
    );
    const deposits = this.people.flatMap((person) =>
      [['USD', START_USD] as const, ['ETH', START_ETH] as const].map(([currency, amount]) =>
        this.asAdmin(DEPOSIT, { input: { userId: person.id, currency, amount }, key: randomUUID() }).then((data) => data.deposit!),
      ),
    );
    const supply = this.asAdmin(SUPPLY, { input: { tonnes: MARKET_TONNES }, key: randomUUID() }).then((data) => data.supplyMarket!);
    for (const transaction of await Promise.all([...deposits, supply])) {
      expect(transaction.status).toBe('COMPLETED');
      this.setupTransactionIds.add(transaction.id);
    }
  }

  async close(): Promise<void> {
    await this.userSql.end();
    await this.transactionSql.end();
  }

  private async asAdmin(document: string, variables: Record<string, unknown>) {
    const result = await this.stack.graphql(document, variables, this.adminToken);
    expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
    return result.data as Record<string, { id: string; status: string }>;
  }

  async countWallets(): Promise<number> {
    return (await this.userSql<{ count: number }[]>`select count(*)::int as count from wallets`)[0]!.count;
  }

  async countPending(): Promise<number> {
    return (await this.transactionSql<{ count: number }[]>`select count(*)::int as count from transactions where status = 'PENDING'`)[0]!.count;
  }

  /** Public so that a client without an answer can send an outcome's `request` again, with the same idempotency key. */
  async send(kind: OperationKind, request: Request, expectation: Expectation | null): Promise<Outcome> {
    const result = await this.stack.graphql(request.document, request.variables, request.token);
    const transaction = result.data?.[request.field] as { id: string; status: string } | undefined;
    if (transaction) return { kind, transactionId: transaction.id, answer: transaction.status, expectation, request };
    const error = errorOf(result);
    return { kind, transactionId: error?.transactionId ?? null, answer: error?.code ?? `no code: ${JSON.stringify(result)}`, expectation, request };
  }

  /** A random customer does something random, chosen by the weights of `mix`; the default touches every path between customers and the market. */
  randomOperation(mix: OperationMix = BANK_MIX): Promise<Outcome> {
    const actor = pick(this.people);
    const weights = Object.entries(mix) as [OperationKind, number][];
    let roll = Math.random() * weights.reduce((sum, [, weight]) => sum + weight, 0);
    const kind = weights.find(([, weight]) => (roll -= weight) < 0)?.[0] ?? weights[0]![0];
    if (kind === 'transfer' || kind === 'payment') return this.movement(kind, actor);
    if (kind === 'purchaseByQuote') return this.purchaseByQuote(actor);
    if (kind === 'purchaseAtMarket') return this.purchaseAtMarket(actor);
    if (kind === 'retirement') return this.retirement(actor);
    return this.withdrawal(actor);
  }

  private retirement(holder: Person): Promise<Outcome> {
    const amount = randomAmount('CARBON');
    const expectation: Expectation = { kind: 'outflow', fromId: holder.id, system: 'retired', amountMinor: minorOf(amount, 'CARBON') };
    const input = { amount, beneficiary: `${this.options.label} customer`, message: 'offset' };
    return this.send('retirement', { document: RETIRE, variables: { input, key: randomUUID() }, token: holder.token, field: 'retireCarbonCredits' }, expectation);
  }

  /** Small amounts, so most are covered: each one mints on chain, the slowest path there is. */
  private withdrawal(holder: Person): Promise<Outcome> {
    const amount = decimalOf(randomMinor('CARBON', 0.001, 1), 'CARBON');
    const expectation: Expectation = { kind: 'outflow', fromId: holder.id, system: 'external', amountMinor: minorOf(amount, 'CARBON') };
    this.withdrawalsAskedMinor += expectation.amountMinor;
    const input = { amount, toAddress: WITHDRAWAL_ADDRESS };
    return this.send('withdrawal', { document: WITHDRAW, variables: { input, key: randomUUID() }, token: holder.token, field: 'withdrawCarbon' }, expectation);
  }

  private movement(kind: 'transfer' | 'payment', from: Person): Promise<Outcome> {
    const currency = pick(CURRENCIES);
    const amount = randomAmount(currency);
    const key = randomUUID();
    const to = pick(this.people.filter((person) => person.id !== from.id && (kind === 'transfer' || person.role === 'SELLER')));
    const expectation: Expectation = { kind: 'movement', fromId: from.id, toId: to.id, currency, amountMinor: minorOf(amount, currency) };
    if (kind === 'transfer') {
      // Recipients are named by id or by email, as clients do.
      const input = { to: Math.random() < 0.5 ? to.id : to.email, currency, amount, memo: `${this.options.label} test` };
      return this.send(kind, { document: TRANSFER, variables: { input, key }, token: from.token, field: 'transfer' }, expectation);
    }
    const input = { sellerId: to.id, currency, amount, reference: `invoice ${key.slice(0, 8)}` };
    return this.send(kind, { document: PAY, variables: { input, key }, token: from.token, field: 'pay' }, expectation);
  }

  private async purchaseByQuote(buyer: Person): Promise<Outcome> {
    const input = Math.random() < 0.5 ? { tonnes: randomAmount('CARBON') } : { usd: decimalOf(randomMinor('USD', 0.01, 100) * (Math.random() < 0.1 ? 100n : 1n), 'USD') };
    const quoted = await this.stack.graphql(QUOTE, { input }, buyer.token);
    const quote = quoted.data?.quoteCarbonPurchase as { id: string; tonnes: string; totalUsd: string } | undefined;
    if (!quote) return { kind: 'purchaseByQuote', transactionId: null, answer: errorOf(quoted)?.code ?? JSON.stringify(quoted), expectation: null, request: null };
    const expectation: Expectation = { kind: 'purchase', buyerId: buyer.id, carbonMinor: minorOf(quote.tonnes, 'CARBON'), usdMinor: minorOf(quote.totalUsd, 'USD') };
    return this.send('purchaseByQuote', { document: PURCHASE, variables: { input: { quoteId: quote.id }, key: randomUUID() }, token: buyer.token, field: 'purchaseCarbonCredits' }, expectation);
  }

  private purchaseAtMarket(buyer: Person): Promise<Outcome> {
    const tonnes = randomAmount('CARBON');
    // One time in ten the limit is far below the market, which must refuse before any money moves.
    const maxPricePerTonne = Math.random() < 0.1 ? '0.0001' : '1000';
    const expectation: Expectation = { kind: 'purchase', buyerId: buyer.id, carbonMinor: minorOf(tonnes, 'CARBON'), usdMinor: null };
    const request = { document: PURCHASE, variables: { input: { tonnes, maxPricePerTonne }, key: randomUUID() }, token: buyer.token, field: 'purchaseCarbonCredits' };
    return this.send('purchaseAtMarket', request, expectation);
  }

  async takeSnapshot(): Promise<Snapshot> {
    const result = await this.stack.graphql(SNAPSHOT, {}, this.adminToken);
    // A partial answer (an entity fetch failed) is a failed read, not a snapshot to check.
    if (!result.data?.ledgerSnapshot || result.errors?.length) throw new Error(`ledgerSnapshot failed: ${JSON.stringify(result.errors)}`);
    return result.data.ledgerSnapshot as Snapshot;
  }

  /**
   * Takes snapshots back to back until `stop()`; each one is checked as it arrives. Checking while the workload
   * runs is the point: a final state can be right even though readers saw money vanish on the way there.
   */
  startAuditor(walletCount: number, options: { failedReadsTolerated?: boolean } = {}) {
    let stopped = false;
    let checked = 0;
    let failedReads = 0;
    const violations: string[] = [];
    // While processes are being killed a read may fail, and only a snapshot that was read can be wrong.
    const read = options.failedReadsTolerated ? () => this.takeSnapshot().catch(() => null) : () => this.takeSnapshot();
    const running = (async () => {
      while (!stopped) {
        // Read before the snapshot is asked for, so every withdrawal the snapshot can have seen is counted.
        const withdrawnMaxMinor = this.withdrawalsAskedMinor;
        const snapshot = await read();
        if (snapshot === null) {
          failedReads += 1;
          continue;
        }
        violations.push(...snapshotViolations(snapshot, walletCount, withdrawnMaxMinor).slice(0, VIOLATIONS_KEPT_MAX - violations.length));
        checked += 1;
      }
    })();
    // A failed read is reported when stop() is awaited, not as an unhandled rejection in between.
    running.catch(() => {});
    return {
      async stop() {
        stopped = true;
        await running;
        return { checked, failedReads, violations };
      },
    };
  }

  private async readLedger() {
    const transactions = await this.transactionSql<TransactionRecord[]>`select id, type, status, failure_code, price_per_tonne::text, posting from transactions`;
    const entries = await this.userSql<{ posting_id: string; owner: string; currency: Currency; amount: string; balance_after: string }[]>`
      select e.posting_id, coalesce('u:' || w.user_id::text, 's:' || w.system_account::text) as owner, e.currency, e.amount::text, e.balance_after::text
      from posting_entries e join wallets w on w.id = e.wallet_id`;
    const postingIds = (await this.userSql<{ id: string }[]>`select id from postings`).map((row) => row.id);
    const entriesOf = new Map<string, string[]>();
    for (const entry of entries) entriesOf.set(entry.posting_id, [...(entriesOf.get(entry.posting_id) ?? []), entryKey(entry.owner, entry.currency, entry.amount)]);
    return { transactions, entries, postingIds, entriesOf };
  }

  /**
   * The invariants of a finished run, read straight from both databases rather than through the API, since the
   * API is what is under test; answers the figures for the report.
   */
  async checkLedger(outcomes: readonly Outcome[]) {
    const { transactions, entries, postingIds, entriesOf } = await this.readLedger();
    const byId = new Map(transactions.map((record) => [record.id, record]));
    const completed = transactions.filter((record) => record.status === 'COMPLETED');
    const failed = transactions.filter((record) => record.status === 'FAILED');
    const postings = new Set(postingIds);
    // A withdrawal whose mint failed after its debit has that debit and the reversal that gave the CARBON back.
    const reversed = new Set(failed.filter((record) => record.type === 'WITHDRAWAL' && postings.has(record.id) && postings.has(derivedUuid('withdrawal-reversal', record.id))).map((record) => record.id));
    const reversals = new Set([...reversed].map((id) => derivedUuid('withdrawal-reversal', id)));

    expect(transactions.filter((record) => record.status === 'PENDING').map((record) => record.id)).toEqual([]);
    expect(completed.filter((record) => !postings.has(record.id)).map((record) => record.id), 'COMPLETED without a posting').toEqual([]);
    expect(failed.filter((record) => postings.has(record.id) && !reversed.has(record.id)).map((record) => record.id), 'FAILED with a posting').toEqual([]);
    expect(postingIds.filter((id) => byId.get(id)?.status !== 'COMPLETED' && !reversed.has(id) && !reversals.has(id)), 'postings without a COMPLETED transaction').toEqual([]);
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

    const balances = await this.userSql<{ id: string; owner: string; balance: string; posted: string }[]>`
      select w.id, coalesce('u:' || w.user_id::text, 's:' || w.system_account::text) as owner, w.balance::text,
             coalesce((select sum(e.amount) from posting_entries e where e.wallet_id = w.id), 0)::text as posted
      from wallets w`;
    expect(balances.filter((wallet) => wallet.balance !== wallet.posted), 'a balance that is not the sum of its entries').toEqual([]);
    expect(balances.filter((wallet) => BigInt(wallet.balance) < 0n && wallet.owner !== 's:external')).toEqual([]);

    return { transactions, completed, failedByCode: countBy(failed, (record) => record.failure_code ?? 'none'), postings: postingIds.length };
  }
}
