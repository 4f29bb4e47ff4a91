/**
 * Demo data through the public GraphQL API, as a person would make it: buyers and sellers, deposits, transfers,
 * payments, carbon purchases and a retirement. Every step is idempotent, so a second run changes nothing:
 * accounts have fixed emails (an existing one is signed in to), and every money mutation carries an idempotency
 * key named after its step, so the platform answers a replay with the first result.
 */

export type Role = 'BUYER' | 'SELLER';
export type Currency = 'USD' | 'ETH' | 'CARBON';

export interface SeedPerson {
  key: string;
  email: string;
  displayName: string;
  role: Role;
}

export const SEED_PEOPLE: readonly SeedPerson[] = [
  { key: 'ada', email: 'ada@seed.ecocoin.example', displayName: 'Ada Lovelace', role: 'BUYER' },
  { key: 'grace', email: 'grace@seed.ecocoin.example', displayName: 'Grace Hopper', role: 'BUYER' },
  { key: 'alan', email: 'alan@seed.ecocoin.example', displayName: 'Alan Turing', role: 'BUYER' },
  { key: 'acme', email: 'acme-reforestation@seed.ecocoin.example', displayName: 'Acme Reforestation', role: 'SELLER' },
  { key: 'blue', email: 'blue-carbon@seed.ecocoin.example', displayName: 'Blue Carbon Co-op', role: 'SELLER' },
];

/** What an idempotent step found: it made something now, or it was there from an earlier run. */
export type StepOutcome = 'created' | 'existing';

export interface SeedOptions {
  /** The gateway's GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql. */
  gatewayUrl: string;
  admin: { email: string; password: string };
  /** The password of every seeded account. */
  password: string;
  /** Told before each step runs (for a progress bar). */
  onStep?(name: string): void;
  /** Per request: a gateway that does not answer fails the seed rather than hang it. */
  requestTimeoutMs?: number;
}

export interface SeedReport {
  steps: { name: string; outcome: StepOutcome }[];
  people: { email: string; displayName: string; role: Role; balances: Record<string, string> }[];
  /** Days with an MCO2 candle over the last week (npm start backfills a week of simulated history). */
  priceHistoryDays: number;
}

export class SeedError extends Error {
  override readonly name = 'SeedError';
}

interface Session {
  id: string;
  token: string;
}

interface Step {
  name: string;
  run(): Promise<StepOutcome>;
}

const PRICE_LIMIT_USD_PER_TONNE = '10000';
const REQUEST_TIMEOUT_MS_DEFAULT = 30_000;

/** The steps in order; `steps(…).length` is known before any runs, for the progress bar. */
function planSteps(options: SeedOptions, sessions: Map<string, Session>, startedAt: Date): Step[] {
  const call = graphqlCaller(options.gatewayUrl, options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT);
  const session = (key: string) => {
    const found = sessions.get(key);
    if (!found) throw new SeedError(`no session for ${key}: its account step did not run`);
    return found;
  };
  /** A money mutation under the step's own idempotency key; a transaction made before this run is a replay. */
  const money = (name: string, as: string, mutation: { operation: string; field: string; input: string }, input: () => Record<string, unknown>): Step => ({
    name,
    async run() {
      const data = await call<{ result: { status: string; createdAt: string; failureCode: string | null } }>(
        name,
        `mutation ${mutation.operation}($input: ${mutation.input}!, $key: String!) { result: ${mutation.field}(input: $input, idempotencyKey: $key) { status createdAt failureCode } }`,
        { input: input(), key: `seed-${name}` },
        session(as).token,
      );
      if (data.result.status === 'FAILED') throw new SeedError(`${name}: the platform refused it (${data.result.failureCode})`);
      return new Date(data.result.createdAt) < startedAt ? 'existing' : 'created';
    },
  });
  const id = (key: string) => session(key).id;

  return [
    {
      name: 'admin-sign-in',
      async run() {
        sessions.set('admin', await signIn(call, 'admin-sign-in', options.admin.email, options.admin.password));
        return 'existing';
      },
    },
    ...SEED_PEOPLE.map(
      (person): Step => ({
        name: `account-${person.key}`,
        async run() {
          const { session: made, outcome } = await signInOrRegister(call, `account-${person.key}`, person, options.password);
          sessions.set(person.key, made);
          return outcome;
        },
      }),
    ),
    money('supply-market', 'admin', MUTATIONS.supplyMarket, () => ({ tonnes: '500' })),
    ...(
      [
        ['ada', 'USD', '5000.00'],
        ['grace', 'USD', '2000.00'],
        ['alan', 'USD', '800.00'],
        ['ada', 'ETH', '1.5'],
      ] as const
    ).map(([key, currency, amount]) => money(`deposit-${key}-${currency.toLowerCase()}`, 'admin', MUTATIONS.deposit, () => ({ userId: id(key), currency, amount }))),
    money('transfer-ada-grace', 'ada', MUTATIONS.transfer, () => ({ to: personEmail('grace'), currency: 'USD', amount: '120.00', memo: 'Dinner' })),
    money('transfer-grace-alan', 'grace', MUTATIONS.transfer, () => ({ to: personEmail('alan'), currency: 'USD', amount: '45.50', memo: 'Books' })),
    ...(
      [
        ['ada', 'acme', '250.00', 'ACME-INV-1001'],
        ['grace', 'acme', '60.00', 'ACME-INV-1002'],
        ['alan', 'blue', '75.00', 'BLUE-INV-2001'],
      ] as const
    ).map(([payer, seller, amount, reference]) =>
      money(`payment-${payer}-${reference.toLowerCase()}`, payer, MUTATIONS.pay, () => ({ sellerId: id(seller), currency: 'USD', amount, reference })),
    ),
    // At the market price with a limit rather than by quote: a quote is new on every run, so its purchase could not be replayed.
    money('purchase-ada', 'ada', MUTATIONS.purchase, () => ({ tonnes: '12', maxPricePerTonne: PRICE_LIMIT_USD_PER_TONNE })),
    money('purchase-grace', 'grace', MUTATIONS.purchase, () => ({ tonnes: '3', maxPricePerTonne: PRICE_LIMIT_USD_PER_TONNE })),
    money('retirement-ada', 'ada', MUTATIONS.retire, () => ({ amount: '2', beneficiary: 'Ada Lovelace', message: '2026 flights' })),
  ];
}

const MUTATIONS = {
  supplyMarket: { operation: 'SeedSupplyMarket', field: 'supplyMarket', input: 'SupplyMarketInput' },
  deposit: { operation: 'SeedDeposit', field: 'deposit', input: 'DepositInput' },
  transfer: { operation: 'SeedTransfer', field: 'transfer', input: 'TransferInput' },
  pay: { operation: 'SeedPay', field: 'pay', input: 'PayInput' },
  purchase: { operation: 'SeedPurchase', field: 'purchaseCarbonCredits', input: 'PurchaseCarbonCreditsInput' },
  retire: { operation: 'SeedRetire', field: 'retireCarbonCredits', input: 'RetireCarbonCreditsInput' },
} as const;

function personEmail(key: string): string {
  const person = SEED_PEOPLE.find((candidate) => candidate.key === key);
  if (!person) throw new SeedError(`no seed person ${key}`);
  return person.email;
}

/** How many steps a run takes (for a progress bar's total). */
export const seedStepCount = (options: SeedOptions): number => planSteps(options, new Map(), new Date()).length;

/** Runs every step in order, then reads back what the seeded people hold. */
export async function seedPlatform(options: SeedOptions): Promise<SeedReport> {
  const sessions = new Map<string, Session>();
  // A transaction created before this moment was made by an earlier run and replayed now.
  const startedAt = new Date();
  const report: SeedReport = { steps: [], people: [], priceHistoryDays: 0 };
  for (const step of planSteps(options, sessions, startedAt)) {
    options.onStep?.(step.name);
    report.steps.push({ name: step.name, outcome: await step.run() });
  }
  const call = graphqlCaller(options.gatewayUrl, options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT);
  report.people = await seededBalances(call, sessions);
  report.priceHistoryDays = await priceHistoryDays(call);
  return report;
}

/** Every seeded person's balances, read through the API with their own token. */
export async function seededBalances(call: GraphQLCall, sessions: Map<string, Session>): Promise<SeedReport['people']> {
  const people: SeedReport['people'] = [];
  for (const person of SEED_PEOPLE) {
    const found = sessions.get(person.key);
    if (!found) continue;
    const data = await call<{ me: { wallets: { currency: string; balance: string }[] } }>(
      `balances-${person.key}`,
      /* GraphQL */ `query SeedBalances { me { wallets { currency balance } } }`,
      {},
      found.token,
    );
    const balances = Object.fromEntries(data.me.wallets.map((wallet) => [wallet.currency, wallet.balance]));
    people.push({ email: person.email, displayName: person.displayName, role: person.role, balances });
  }
  return people;
}

async function priceHistoryDays(call: GraphQLCall): Promise<number> {
  const from = new Date(Date.now() - 7 * 24 * 3600 * 1000).toISOString();
  const data = await call<{ priceHistory: unknown[] }>(
    'price-history',
    /* GraphQL */ `query SeedPriceHistory($from: DateTime!) { priceHistory(symbol: MCO2, from: $from, interval: DAY) { start } }`,
    { from },
  );
  return data.priceHistory.length;
}

async function signIn(call: GraphQLCall, step: string, email: string, password: string): Promise<Session> {
  const data = await call<{ login: { token: string; user: { id: string } } }>(
    step,
    /* GraphQL */ `mutation SeedSignIn($email: String!, $password: String!) { login(email: $email, password: $password) { token user { id } } }`,
    { email, password },
  );
  return { id: data.login.user.id, token: data.login.token };
}

/** Signs in to the account made by an earlier run, or registers it. */
async function signInOrRegister(call: GraphQLCall, step: string, person: SeedPerson, password: string): Promise<{ session: Session; outcome: StepOutcome }> {
  try {
    return { session: await signIn(call, step, person.email, password), outcome: 'existing' };
  } catch (error) {
    if (!(error instanceof GraphQLRefusal) || error.code !== 'UNAUTHENTICATED') throw error;
  }
  const data = await call<{ register: { token: string; user: { id: string } } }>(
    step,
    /* GraphQL */ `mutation SeedRegister($input: RegisterInput!) { register(input: $input) { token user { id } } }`,
    { input: { email: person.email, password, displayName: person.displayName, role: person.role } },
  );
  return { session: { id: data.register.user.id, token: data.register.token }, outcome: 'created' };
}

export type GraphQLCall = <Data>(step: string, query: string, variables?: Record<string, unknown>, token?: string) => Promise<Data>;

/** The platform said no, with a code (e.g. UNAUTHENTICATED for a sign-in to an account that does not exist yet). */
export class GraphQLRefusal extends SeedError {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function graphqlCaller(gatewayUrl: string, timeoutMs: number): GraphQLCall {
  return async <Data>(step: string, query: string, variables: Record<string, unknown> = {}, token?: string) => {
    let response: Response;
    try {
      response = await fetch(gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': `seed-${step}-${Date.now()}`, ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new SeedError(`${step}: the gateway at ${gatewayUrl} did not answer (${(error as Error).message}); is the platform running (npm start)?`);
    }
    const body = (await response.json().catch(() => ({}))) as { data?: Data; errors?: { message: string; extensions?: { code?: string } }[] };
    const [first] = body.errors ?? [];
    if (first) throw new GraphQLRefusal(first.extensions?.code ?? 'UNKNOWN', `${step}: ${first.extensions?.code ?? 'error'}: ${first.message}`);
    if (!body.data) throw new SeedError(`${step}: the gateway answered ${response.status} without data`);
    return body.data;
  };
}
